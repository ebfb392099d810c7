// A site's use of the package, type-checked by `make test-npm` against the packed tarball.
// Each `@ts-expect-error` line is a misuse the declarations must refuse: if one compiles,
// tsc reports the directive as unused and the test fails.
import connect, { connect as named, END_REASONS, type EndReason, type SiteRules } from 'open-cobrowse';

const cobrowse = connect({ relay: 'https://cobrowse.example.com/', site: 'shop' });
const same: typeof cobrowse = named({ relay: new URL('https://cobrowse.example.com'), site: 'shop' });

cobrowse
  .on('start', ({ sessionId, resumed }) => console.log(sessionId.length, resumed === true))
  .on('granted', () => console.log('the agent may act'))
  .on('end', ({ reason }) => {
    const known: EndReason = reason;
    if (known === 'interaction-transferred') console.log('handed over');
  });

async function byKey(key: string): Promise<void> {
  await cobrowse.startWithKey(key);
  await same.enterCode();
  cobrowse.end();
}
void byKey('123456789012');

const first: EndReason | undefined = END_REASONS[0];
const rules: SiteRules = { mask: ['.account'], pause: '/pay/*', privateByDefault: true, sliceMs: 8 };
console.log(first, rules, cobrowse.base, cobrowse.site);

// @ts-expect-error: a site key is required
connect({ relay: 'https://cobrowse.example.com/' });
// @ts-expect-error: there is no such event
cobrowse.on('paired', () => {});
cobrowse.on('end', ({ reason }) => {
  // @ts-expect-error: not an end reason the library emits
  const wrong: 'timeout' = reason;
  console.log(wrong);
});
// @ts-expect-error: the key is a string the agent reads out
void cobrowse.startWithKey(123456789012);
// @ts-expect-error: a misspelt rule is refused, as the relay refuses it
const misspelt: SiteRules = { maks: ['.account'] };
console.log(misspelt);
