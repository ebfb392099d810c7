//! Harness for the end-to-end tests under `tests/tests/`: starting the relay and browsers.
