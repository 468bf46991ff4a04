//! The dashboard's built assets: brotli or gzip copies chosen by Accept-Encoding, names with a
//! content hash cached for a year, everything else revalidated or not stored at all.

use crate::common::TestApp;

const WASM: &str = "vigil.Xy3_-aBcDeFgHiJkLmNoPq.wasm";

/// A site root as `cargo leptos build --release --precompress` leaves it, with distinguishable
/// bodies for the three encodings.
fn built_site() -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join(WASM), b"\0asm plain").unwrap();
    std::fs::write(pkg.join(format!("{WASM}.br")), b"brotli bytes").unwrap();
    std::fs::write(pkg.join(format!("{WASM}.gz")), b"gzip bytes").unwrap();
    std::fs::write(pkg.join("vigil.css"), b"body {}").unwrap();
    site
}

#[tokio::test]
async fn assets_come_precompressed_by_accept_encoding_and_hashed_names_are_immutable() {
    let site = built_site();
    let root = site.path().to_owned();
    let app = TestApp::spawn_with(|args| args.site_root = root).await;
    let fetch = |path: &str, encodings: Option<&str>| {
        let mut request = app.http.get(app.url(path));
        if let Some(encodings) = encodings {
            request = request.header("accept-encoding", encodings);
        }
        request.send()
    };
    for (accepted, encoding, body) in [
        (Some("gzip, deflate, br"), Some("br"), "brotli bytes"),
        (Some("gzip"), Some("gzip"), "gzip bytes"),
        (None, None, "\0asm plain"),
    ] {
        let response = fetch(&format!("/pkg/{WASM}"), accepted).await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            header("content-encoding").as_deref(),
            encoding,
            "{accepted:?}"
        );
        assert_eq!(header("content-type").as_deref(), Some("application/wasm"));
        assert_eq!(
            header("cache-control").as_deref(),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(header("vary").as_deref(), Some("accept-encoding"));
        assert_eq!(response.text().await.unwrap(), body);
    }
    let plain_name = fetch("/pkg/vigil.css", Some("br")).await.unwrap();
    assert_eq!(plain_name.headers()["cache-control"], "no-cache");
    let page = fetch("/login", Some("br")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["cache-control"],
        "no-store",
        "pages hold audit data"
    );
    let missing = fetch("/pkg/vigil.Xy3_-aBcDeFgHiJkLmNoPq.js", None)
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
