//! Attacks on a real relay process, each a test of its own that fails on a relay without the
//! defence it names: what an anonymous client on the internet, or a signed-in person acting
//! against the others, tries, and what the relay must answer instead.


mod connections;
mod cross_site;
mod guests;
mod headers;
mod offers;
mod operations;
mod pairing;
mod reports;
mod signin;
mod streams;
mod support;
mod uploads;
mod webhooks;
