//! The conformance runner through TLS, as a production relay is reached (behind a TLS proxy):
//! `https://` for the REST calls and `wss://` for the sockets, against our relay behind a TLS
//! front with a self-signed certificate. Trusted through `Target::ca_pem` (`--ca-cert`), every
//! check passes; without it, the runner refuses the certificate before any check.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use common::*;
use openssl::{
    asn1::Asn1Time,
    hash::MessageDigest,
    pkey::PKey,
    rsa::Rsa,
    x509::{extension::SubjectAlternativeName, X509NameBuilder, X509},
};
use relay::conformance::{self, AgentIdentity, SetupError, Target};
use tokio::net::{TcpListener, TcpStream};

/// A self-signed certificate for `localhost`: (certificate PEM, private key PEM).
fn self_signed() -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .build(&cert.x509v3_context(None, None))
        .unwrap();
    cert.append_extension(san).unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    (
        cert.build().to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

/// A TLS front for the relay: accepts TLS on a port of its own and forwards the plain bytes.
async fn tls_front(relay: std::net::SocketAddr, cert: &[u8], key: &[u8]) -> u16 {
    let identity = native_tls::Identity::from_pkcs8(cert, key).unwrap();
    let acceptor =
        tokio_native_tls::TlsAcceptor::from(native_tls::TlsAcceptor::new(identity).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(relay).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

fn agent() -> AgentIdentity {
    AgentIdentity::Password {
        name: "alice".into(),
        password: "pw".into(),
    }
}

#[tokio::test]
async fn the_runner_checks_a_relay_behind_tls() {
    let relay = Relay::start(|_| {}).await;
    let (cert, key) = self_signed();
    let port = tls_front(relay.addr, &cert, &key).await;

    // Not trusted: refused at the first request, before any check runs.
    let untrusted = Target::new(&format!("https://localhost:{port}"), SITE, ORIGIN, agent());
    match conformance::run(&untrusted).await {
        Err(SetupError::Http { .. }) => {}
        Err(other) => panic!("expected a refused certificate, got {other}"),
        Ok(results) => panic!("ran {} checks over an untrusted certificate", results.len()),
    }

    let mut trusted = Target::new(&format!("wss://localhost:{port}"), SITE, ORIGIN, agent());
    trusted.ca_pem = Some(cert);
    let results = conformance::run(&trusted).await.unwrap();
    let table = conformance::table(&results);
    println!("{table}");
    assert!(results.len() >= 29, "{table}");
    assert!(results.iter().all(|r| r.passed), "{table}");
    relay.stop().await;
}
