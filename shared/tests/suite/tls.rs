//! The outbound client's TLS path (channels and notices go out through it): a handshake with a
//! server whose authority the client trusts succeeds and the answer is read; a server whose
//! authority it does not trust, or a name the certificate does not carry, is refused before
//! anything is sent.

use shared::infra::http::{Failure, HttpClient, request};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Authority {
    roots: rustls::RootCertStore,
    server: Arc<rustls::ServerConfig>,
}

fn authority() -> Authority {
    let ca_key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut ca =
        rcgen::CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "test authority");
    let ca_cert = ca.self_signed(&ca_key).unwrap_or_else(|e| panic!("{e}"));
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .and_then(|p| p.signed_by(&key, &issuer))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(ca_cert.der().clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth().with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
    Authority {
        roots,
        server: Arc::new(server),
    }
}

/// A TLS server answering every request `200 ok`; returns its port.
async fn serve(config: Arc<rustls::ServerConfig>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn get(url: &str) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    request(http::Method::GET, url, &[], "").unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn https_to_a_trusted_server_is_answered_and_an_untrusted_one_refused() {
    let auth = authority();
    let port = serve(auth.server.clone()).await;
    let trusting = HttpClient::with_roots(auth.roots.clone());
    let answer = trusting
        .send(
            get(&format!("https://localhost:{port}/v3/x")),
            Duration::from_secs(5),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), "ok");
    // the system's roots do not know the test authority
    let refused = HttpClient::shared()
        .send(
            get(&format!("https://localhost:{port}/")),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(refused.err(), Some(Failure::Connect));
    // the certificate names localhost, not the address
    let wrong_name = trusting
        .send(
            get(&format!("https://127.0.0.1:{port}/")),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(wrong_name.err(), Some(Failure::Connect));
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let held = tokio::spawn(async move {
        let conn = listener.accept().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(conn);
    });
    let result = HttpClient::shared()
        .send(
            get(&format!("http://127.0.0.1:{port}/")),
            Duration::from_millis(300),
        )
        .await;
    assert_eq!(result.err(), Some(Failure::TimedOut));
    held.abort();
}
