// Demo shop behaviour: products, a cart in localStorage, the header, and the co-browse button.
const PRODUCTS = [
  { id: 'kettle', name: 'Copper Kettle', price: 49, icon: 'K', tint: '#fde68a', text: 'A 1.5 l stovetop kettle that whistles politely.' },
  { id: 'mug', name: 'Stoneware Mug', price: 14, icon: 'M', tint: '#fecaca', text: 'Hand-glazed, 350 ml, dishwasher safe.' },
  { id: 'grinder', name: 'Burr Grinder', price: 89, icon: 'G', tint: '#c7d2fe', text: 'Forty grind settings, from espresso to cold brew.' },
  { id: 'beans', name: 'House Beans 1 kg', price: 24, icon: 'B', tint: '#bbf7d0', text: 'Medium roast, chocolate and hazelnut notes.' },
  { id: 'press', name: 'French Press', price: 32, icon: 'P', tint: '#bae6fd', text: 'Borosilicate glass, stainless mesh filter.' },
  { id: 'scale', name: 'Brew Scale', price: 39, icon: 'S', tint: '#fbcfe8', text: 'Weighs to 0.1 g, with a built-in timer.' },
];
const money = (n) => '$' + n.toFixed(2);
const cart = () => JSON.parse(localStorage.getItem('demo-cart') || '{}');
const saveCart = (c) => { localStorage.setItem('demo-cart', JSON.stringify(c)); renderBadge(); };
function addToCart(id, qty) { const c = cart(); c[id] = (c[id] || 0) + (qty || 1); saveCart(c); }
function renderBadge() {
  const n = Object.values(cart()).reduce((a, b) => a + b, 0);
  document.querySelectorAll('[data-cart-count]').forEach((b) => { b.textContent = n; });
}
function header() {
  const h = document.querySelector('header.top');
  if (!h) return;
  h.innerHTML = `<div class="wrap"><a class="logo" href="/demo/">Brew<span>&amp;</span>Co</a>
    <nav class="main"><a href="/demo/">Shop</a><a href="/demo/account.html">Account</a>
    <a href="/demo/help.html">Help</a></nav>
    <button type="button" class="btn small code-btn" id="cobrowse-code">Enter co-browse code</button>
    <a class="cart-link" href="/demo/cart.html">Cart<span class="badge" data-cart-count>0</span></a></div>`;
  h.querySelector('#cobrowse-code').addEventListener('click', () => window.Cobrowse && Cobrowse.enterCode());
  renderBadge();
}
document.addEventListener('DOMContentLoaded', header);
export { PRODUCTS, money, cart, saveCart, addToCart };
