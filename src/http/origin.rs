//! Which web pages may open a WebSocket to this server (`Origin`): the public URL's origin,
//! `VIVA_CORS_ORIGINS`, and, while no public URL is set, any loopback page. Requests without an
//! `Origin` (non-browser clients) are allowed; `null` (sandboxed frames, files) is not.

#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Exact origins (`scheme://host[:port]`, lower case, no trailing slash).
    allowed: Vec<String>,
    loopback: bool,
    /// The server is reached over https (cookies are `Secure`).
    https: bool,
}

impl OriginPolicy {
    /// `public_url`: `VIVA_PUBLIC_URL` if set; `default_url`: the URL links use without it.
    pub fn new(public_url: Option<&str>, default_url: &str, extra: &[String]) -> Self {
        let mut allowed: Vec<String> = extra.iter().filter_map(|o| origin_of(o)).collect();
        let public = public_url.unwrap_or(default_url);
        allowed.extend(origin_of(public));
        Self {
            allowed,
            loopback: public_url.is_none(),
            https: public.starts_with("https://"),
        }
    }

    /// Whether the public URL is https.
    pub fn https(&self) -> bool {
        self.https
    }

    pub fn allows(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        let Some(origin) = origin_of(origin) else {
            return false;
        };
        self.allowed.contains(&origin) || (self.loopback && is_loopback(&origin))
    }
}

/// `scheme://host[:port]` of a URL or origin, lower-cased; `None` for `null` or garbage.
fn origin_of(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if host.is_empty() || host.contains('@') {
        return None;
    }
    // The default port is the same origin without it.
    let host = match (
        scheme.as_str(),
        host.strip_suffix(":80"),
        host.strip_suffix(":443"),
    ) {
        ("http", Some(h), _) | ("https", _, Some(h)) => h.to_owned(),
        _ => host,
    };
    Some(format!("{scheme}://{host}"))
}

fn is_loopback(origin: &str) -> bool {
    let host = origin.split_once("://").map_or("", |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_origin_and_configured_ones_are_allowed_and_nothing_else() {
        let p = OriginPolicy::new(
            Some("https://interviews.example.com/"),
            "http://127.0.0.1:8080",
            &["https://app.example.com".into()],
        );
        assert!(p.allows(b"https://interviews.example.com"));
        assert!(p.allows(b"https://INTERVIEWS.example.com:443"));
        assert!(p.allows(b"https://app.example.com"));
        assert!(!p.allows(b"https://evil.example"));
        assert!(!p.allows(b"null"));
        assert!(
            !p.allows(b"http://interviews.example.com"),
            "another scheme"
        );
        assert!(
            !p.allows(b"http://localhost:8080"),
            "loopback only without a public URL"
        );
    }

    #[test]
    fn without_a_public_url_loopback_pages_are_allowed() {
        let p = OriginPolicy::new(None, "http://0.0.0.0:8080", &[]);
        assert!(p.allows(b"http://localhost:5173"));
        assert!(p.allows(b"http://127.0.0.1:8080"));
        assert!(p.allows(b"http://[::1]:8080"));
        assert!(!p.allows(b"http://192.168.1.5:8080"));
        assert!(!p.allows(b"https://evil.example"));
        assert!(!p.allows(b"null"));
        assert!(!p.allows(b"http://localhost.evil.example"));
    }
}
