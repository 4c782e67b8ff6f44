//! `--serve` as the demo uses it (issue 11): static files compressed when the client accepts it
//! (never the key configuration), `Cache-Control` immutable for the versioned package files and
//! `no-cache` for the rest, and the H5 page carrying the current key configuration. Real HTTP on
//! loopback (the router served by the binary's own loop), reqwest without decompression.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use h5_mock_gateway::{
    app, serve, Options, HEADER_READ_TIMEOUT, KEYS_PLACEHOLDER, PACKAGE_CACHE_CONTROL,
    STATIC_CACHE_CONTROL,
};

/// A directory of its own under the system temp dir, removed on drop.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The demo's shape: `h5/index.html` with the keys placeholder, `h5/app.js`, a package file.
fn site() -> Dir {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).unwrap();
    let root = std::env::temp_dir().join(format!("h5-serve-test-{}", u64::from_le_bytes(id)));
    std::fs::create_dir_all(root.join("h5")).unwrap();
    std::fs::create_dir_all(root.join("h5-access/0.1.0/pkg")).unwrap();
    let page = format!("<!doctype html><head>{KEYS_PLACEHOLDER}<title>t</title></head>");
    std::fs::write(root.join("h5/index.html"), page).unwrap();
    let script = "export const greeting = 'hello, compressible world';\n".repeat(40);
    std::fs::write(root.join("h5/app.js"), &script).unwrap();
    std::fs::write(root.join("h5-access/0.1.0/pkg/index.js"), &script).unwrap();
    Dir(root)
}

async fn start(dir: &Dir) -> String {
    let router = app(&Options {
        seed: Some("serve-tests".into()),
        serve: Some(dir.0.clone()),
        ..Options::default()
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        router,
        HEADER_READ_TIMEOUT,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

/// GET `url` with `accept-encoding` (if any): status, content-encoding, cache-control, body.
async fn get(url: &str, accept_encoding: Option<&str>) -> (u16, String, String, Vec<u8>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut req = http.get(url);
    if let Some(e) = accept_encoding {
        req = req.header("accept-encoding", e);
    }
    let res = req.send().await.unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (encoding, cache) = (header("content-encoding"), header("cache-control"));
    (
        res.status().as_u16(),
        encoding,
        cache,
        res.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_files_are_immutable_and_compressed_when_accepted() {
    let dir = site();
    let base = start(&dir).await;
    let url = format!("{base}/h5-access/0.1.0/pkg/index.js");
    let (status, encoding, cache, gz) = get(&url, Some("gzip")).await;
    assert_eq!((status, encoding.as_str()), (200, "gzip"));
    assert_eq!(cache, PACKAGE_CACHE_CONTROL);
    let (_, encoding, _, br) = get(&url, Some("br")).await;
    assert_eq!(encoding, "br");
    let (_, encoding, cache, plain) = get(&url, None).await;
    assert_eq!(
        (encoding.as_str(), cache.as_str()),
        ("", PACKAGE_CACHE_CONTROL)
    );
    assert!(
        gz.len() < plain.len() / 4 && br.len() < plain.len() / 4,
        "{} {} {}",
        gz.len(),
        br.len(),
        plain.len()
    );
    // Any other static file: revalidated each time.
    let (status, encoding, cache, _) = get(&format!("{base}/h5/app.js"), Some("gzip")).await;
    assert_eq!(
        (status, encoding.as_str(), cache.as_str()),
        (200, "gzip", STATIC_CACHE_CONTROL)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_h5_page_carries_the_current_key_configuration() {
    let dir = site();
    let base = start(&dir).await;
    let (status, encoding, _, keys) = get(&format!("{base}/v1/keys"), Some("gzip, br")).await;
    assert_eq!(
        (status, encoding.as_str()),
        (200, ""),
        "the key configuration is never compressed"
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&keys);
    for path in ["/h5/", "/h5/index.html"] {
        let (status, _, cache, body) = get(&format!("{base}{path}"), None).await;
        let html = String::from_utf8(body).unwrap();
        assert_eq!(
            (status, cache.as_str()),
            (200, STATIC_CACHE_CONTROL),
            "{path}"
        );
        assert!(
            html.contains(&format!(r#"<meta name="h5-access-keys" content="{b64}">"#)),
            "{path}: {html}"
        );
        assert!(!html.contains(KEYS_PLACEHOLDER), "{path}");
    }
}
