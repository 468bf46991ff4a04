//! Vigil's own origin, as browsers see it (`--public-url`): what cookie-authenticated requests
//! must come from, and whether the session cookie is `Secure`.

use axum::http::uri::{Scheme, Uri};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

/// `scheme://host[:port]`, lower-case, default port left out: the form of an `Origin` header.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicUrl(Arc<Origins>);

#[derive(PartialEq, Eq)]
struct Origins {
    https: bool,
    /// The origin itself, then the names a loopback address also answers to.
    accepted: Vec<String>,
}

impl PublicUrl {
    /// With no `--public-url`, the listening address over plain HTTP. A loopback address is also
    /// reached as `localhost`, so that origin counts as Vigil's too.
    pub fn for_addr(addr: SocketAddr) -> Self {
        let mut accepted = vec![format!("http://{addr}")];
        if addr.ip().is_loopback() {
            accepted.push(format!("http://localhost:{}", addr.port()));
        }
        PublicUrl(Arc::new(Origins {
            https: false,
            accepted,
        }))
    }

    /// True for an `https` public URL: the cookie is `Secure` and `__Host-`, and HSTS is sent.
    pub fn is_https(&self) -> bool {
        self.0.https
    }

    /// The origin, as it appears in an `Origin` header.
    pub fn origin(&self) -> &str {
        &self.0.accepted[0]
    }

    /// Whether an `Origin` header's value is this site.
    pub fn accepts(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        self.0
            .accepted
            .iter()
            .any(|own| own.eq_ignore_ascii_case(origin))
    }
}

impl fmt::Debug for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.origin())
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.origin())
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let uri: Uri = text
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a URL"))?;
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => return Err("must start with https:// or http://".to_owned()),
        };
        let authority = uri.authority().ok_or("names no host")?;
        if authority.as_str().contains('@') {
            return Err("must not carry a user name or password".to_owned());
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err("must be an origin alone (Vigil is served at the root)".to_owned());
        }
        let default_port = if https { 443 } else { 80 };
        let host = authority.host().to_ascii_lowercase();
        let origin = match authority.port_u16() {
            Some(port) if port != default_port => format!("{}://{host}:{port}", scheme(https)),
            _ => format!("{}://{host}", scheme(https)),
        };
        Ok(PublicUrl(Arc::new(Origins {
            https,
            accepted: vec![origin],
        })))
    }
}

fn scheme(https: bool) -> &'static str {
    if https {
        "https"
    } else {
        "http"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_normalised_to_an_origin() {
        let url: PublicUrl = "HTTPS://Vigil.Example.com:443/".parse().unwrap();
        assert_eq!(url.origin(), "https://vigil.example.com");
        assert!(url.is_https());
        assert!(url.accepts("https://vigil.example.com"));
        assert!(!url.accepts("http://vigil.example.com"));
        assert!(!url.accepts("https://vigil.example.com:8443"));
        assert!(!url.accepts("https://evil.example"));
        let plain: PublicUrl = "http://10.0.0.5:8080".parse().unwrap();
        assert_eq!(plain.origin(), "http://10.0.0.5:8080");
        assert!(!plain.is_https());
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "vigil.example.com",
            "ftp://vigil.example.com",
            "https://user:pw@vigil.example.com",
            "https://vigil.example.com/dashboard",
            "https://vigil.example.com/?a=1",
        ] {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unset_it_is_the_listening_address_and_localhost_for_loopback() {
        let url = PublicUrl::for_addr("127.0.0.1:3000".parse().unwrap());
        assert_eq!(url.origin(), "http://127.0.0.1:3000");
        assert!(url.accepts("http://localhost:3000"));
        assert!(
            !url.accepts("http://127.0.0.1:3001"),
            "another port is another origin"
        );
        let wide = PublicUrl::for_addr("10.0.0.5:3000".parse().unwrap());
        assert!(!wide.accepts("http://localhost:3000"));
    }
}
