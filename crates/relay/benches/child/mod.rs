//! What the network benchmarks share about their server child process: the bench binary
//! re-executes itself as `serve-child …`, and the child's first line on stdout says where it
//! listens.

use std::{
    io::{BufRead, BufReader},
    process::Child,
};

/// Reads the child's `LISTENING <where>` line and parses `<where>` (a port or an address).
pub fn listening<T: std::str::FromStr>(child: &mut Child) -> T
where
    T::Err: std::fmt::Debug,
{
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("the child's stdout is piped"))
        .read_line(&mut line)
        .expect("the child prints where it listens");
    line.trim()
        .strip_prefix("LISTENING ")
        .expect("a LISTENING line")
        .parse()
        .expect("a port or address")
}
