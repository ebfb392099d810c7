//! Whether a form control's names say it holds a payment card's number, security code, expiry
//! or holder, an IBAN or a national id: checkout markup often names its card fields only by
//! `id` or `name` (`cc-number`, `cardNumber`, `cvc`), without `autocomplete="cc-*"`.
//!
//! A name is split into lower-case words (at punctuation, spaces and camelCase humps), and
//! every run of up to three adjacent words, joined, is looked up in [`WORDS`]. Only whole
//! words match: `cvc` is a word of `cc-cvc` and `cardCvc`, but not of `cvcheck`, and `sin` is
//! one of `sin-number` but not of `single` or `business`. Values are never read here.

/// The joined words that mark a field, each followed by a space (one string rather than a
/// slice table: smaller in the customer's package). A run of words is joined without
/// separators, so `card number`, `card-number`, `cardNumber` and `cardnumber` all read
/// `cardnumber`.
const WORDS: &str = concat!(
    // Card number.
    "ccnumber ccnum ccno cardnumber cardnum cardno creditcard debitcard ",
    // Security code.
    "cvv cvv2 cvc cvc2 csc cvn ccv cccvv cccvc cccsc cardcvv cardcvc securitycode ",
    // Expiry.
    "ccexp ccexpiry expiry expdate expmonth expyear expirationdate expirationmonth expirationyear ",
    // Holder.
    "ccname cardholder cardholdername nameoncard ",
    // Bank account and national ids.
    "iban ssn socialsecurity nationalid nationalinsurance nino bsn sin ",
);

/// Longer names (a sentence in a label) are read only this far.
const READ_BYTES: usize = 256;

/// Whether `name` (an id, a `name`, an `autocomplete`, a label's text) marks a card, IBAN or
/// national-id field.
pub fn names_sensitive(name: &str) -> bool {
    let (letters, starts) = words(name);
    let n = starts.len();
    // Plain loops: iterator adaptors cost the customer's package more.
    for i in 0..n {
        for j in i + 1..=n.min(i + 3) {
            let end = starts.get(j).copied().unwrap_or(letters.len());
            let run = letters.get(starts[i]..end).unwrap_or_default();
            if WORDS.split(' ').any(|w| w.as_bytes() == run) {
                return true;
            }
        }
    }
    false
}

/// The lower-case words of `name`, as their letters run together and where each starts: split
/// at anything but ASCII letters and digits and where a lower-case letter or digit meets an
/// upper-case one (`ccNumber`) or an upper-case run ends before a lower-case letter
/// (`CCNumber`). Runs of adjacent words, joined, are then slices of the letters.
fn words(name: &str) -> (Vec<u8>, Vec<usize>) {
    let b = name.as_bytes();
    let b = &b[..b.len().min(READ_BYTES)];
    let (mut letters, mut starts) = (Vec::new(), Vec::new());
    let mut gap = true;
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            gap = true;
            continue;
        }
        let prev = i.checked_sub(1).map(|p| b[p]);
        let next = b.get(i + 1);
        let hump = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(u8::is_ascii_lowercase))
            });
        if gap || hump {
            starts.push(letters.len());
        }
        gap = false;
        letters.push(c.to_ascii_lowercase());
    }
    (letters, starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_iban_and_national_id_names_match_in_any_spelling() {
        for name in [
            "cc-number",
            "cc_num",
            "ccnum",
            "ccNumber",
            "CCNumber",
            "card-number",
            "cardnumber",
            "card_number",
            "cardNumber",
            "CardNumber",
            "creditcard",
            "credit-card-number",
            "creditCardNumber",
            "billing[card_number]",
            "payment.cardNo",
            "cc-cvv",
            "cvv",
            "CVV2",
            "cvc",
            "card-cvc",
            "cardCvc",
            "csc",
            "security-code",
            "securityCode",
            "cc-exp",
            "ccExp",
            "expiry",
            "card-expiry",
            "exp-date",
            "expDate",
            "exp_month",
            "expiration-year",
            "cc-name",
            "cardholder",
            "card-holder-name",
            "cardHolderName",
            "name-on-card",
            "iban",
            "IBAN",
            "ssn",
            "social-security-number",
            "national-id",
            "nationalId",
            "national_insurance_number",
            "nino",
            "bsn",
            "sin",
            "Card number",
            "Security code (CVV)",
            "Name on card",
            "Expiry date",
        ] {
            assert!(names_sensitive(name), "{name} should mark a card field");
        }
    }

    #[test]
    fn ordinary_names_do_not_match_by_accident() {
        for name in [
            "",
            "name",
            "email",
            "email-cc",
            "cc",
            "card",
            "card-style",
            "scorecard",
            "giftcard",
            "discover",
            "success",
            "cvcheck",
            "description",
            "accept",
            "csv-file",
            "export",
            "expand",
            "experience",
            "expires",
            "expense-date",
            "exp",
            "single",
            "business",
            "signin",
            "sign_in",
            "basin",
            "isin",
            "ibanez",
            "username",
            "promo-code",
            "discount-code",
            "postcode",
            "zip",
            "phone",
            "address-line-1",
            "number",
            "quantity",
            "search",
            "Your message",
        ] {
            assert!(
                !names_sensitive(name),
                "{name} should not mark a card field"
            );
        }
    }

    #[test]
    fn words_split_at_punctuation_and_humps() {
        let split = |name| {
            let (letters, starts) = words(name);
            let total = letters.len();
            let ends = starts.iter().skip(1).chain([&total]);
            let out: Vec<String> = starts
                .iter()
                .zip(ends)
                .map(|(&s, &e)| String::from_utf8_lossy(&letters[s..e]).into_owned())
                .collect();
            out
        };
        assert_eq!(split("ccNumber"), ["cc", "number"]);
        assert_eq!(split("CCNumber"), ["cc", "number"]);
        assert_eq!(split("billing[card_number]"), ["billing", "card", "number"]);
        assert_eq!(split("CVV2"), ["cvv2"]);
        assert_eq!(split("é-cvc"), ["cvc"]);
        assert!(split(" -- ").is_empty());
    }

    #[test]
    fn a_huge_name_is_read_only_so_far() {
        let long = format!("{}cvc", "a ".repeat(10_000));
        assert!(!names_sensitive(&long), "read past the bound");
        assert!(names_sensitive(&format!("cvc {}", "a ".repeat(10_000))));
    }
}
