//! Target URLs, parsed: where to connect, the request to send, and the
//! `target` label. Userinfo becomes a Basic `Authorization` header and, like
//! the query string, never appears in labels, errors or logs.

use base64::Engine as _;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Uri};

const USER_AGENT: &str = concat!("headroom-agent/", env!("CARGO_PKG_VERSION"));

/// A parsed `url`: where to connect and what to send.
#[derive(Debug, Clone)]
pub struct Url {
    pub https: bool,
    /// Host name or IP address, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// `host:port` for messages (brackets around IPv6).
    pub endpoint: String,
    /// `scheme://host[:port]/path`: no userinfo, query or fragment.
    pub label: String,
    /// Origin-form request target: path and query.
    target: Uri,
    /// The authority as written, without userinfo.
    host_header: HeaderValue,
    /// Basic credentials from the userinfo.
    authorization: Option<HeaderValue>,
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL. Errors never repeat
    /// the URL (it may hold a password or a token in its query).
    pub fn parse(text: &str) -> Result<Self, String> {
        let uri: Uri = text
            .trim()
            .parse()
            .map_err(|error| format!("not a URL ({error})"))?;
        let https = match uri.scheme_str() {
            Some(scheme) if scheme.eq_ignore_ascii_case("https") => true,
            Some(scheme) if scheme.eq_ignore_ascii_case("http") => false,
            _ => return Err("must start with http:// or https://".into()),
        };
        let authority = uri
            .authority()
            .ok_or("has no host (http://host[:port]/path)")?;
        let (userinfo, host_port) = match authority.as_str().rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority.as_str()),
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err("has no host (http://host[:port]/path)".into());
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let endpoint = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let scheme = if https { "https" } else { "http" };
        let label = format!("{scheme}://{host_port}{}", uri.path());
        let target = match uri.path_and_query() {
            Some(path_and_query) => Uri::from(path_and_query.clone()),
            None => Uri::from_static("/"),
        };
        let host_header = HeaderValue::from_str(host_port)
            .map_err(|_| "has a host that is not valid in a Host header".to_owned())?;
        let authorization = userinfo.map(basic_authorization).transpose()?;
        Ok(Self {
            https,
            host: host.to_owned(),
            port,
            endpoint,
            label,
            target,
            host_header,
            authorization,
        })
    }

    /// The request to send, with no body.
    pub fn request(&self, method: &Method) -> Request<Empty<Bytes>> {
        let mut request = Request::new(Empty::new());
        *request.method_mut() = method.clone();
        *request.uri_mut() = self.target.clone();
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.host_header.clone());
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        if let Some(authorization) = &self.authorization {
            headers.insert(header::AUTHORIZATION, authorization.clone());
        }
        request
    }
}

/// `user:password` (percent-encoded) → `Basic base64(user:password)`.
fn basic_authorization(userinfo: &str) -> Result<HeaderValue, String> {
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| "has user or password that is not UTF-8 once decoded".to_owned())
    };
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let credentials = format!("{}:{}", decode(user)?, decode(password)?);
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .map_err(|_| "has credentials that do not fit in a header".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_userinfo_query_and_fragment() {
        let url =
            Url::parse("https://admin:s3cret@shop.example.com:8443/store/products?token=abc#top")
                .expect("valid");
        assert_eq!(url.label, "https://shop.example.com:8443/store/products");
        assert_eq!(url.endpoint, "shop.example.com:8443");
        assert!(url.https);
        let request = url.request(&Method::GET);
        assert_eq!(request.uri().to_string(), "/store/products?token=abc");
        assert_eq!(request.headers()[header::HOST], "shop.example.com:8443");
        assert_eq!(
            request.headers()[header::AUTHORIZATION],
            "Basic YWRtaW46czNjcmV0"
        );
        assert!(request.headers()[header::AUTHORIZATION].is_sensitive());

        let plain = Url::parse("http://shop.example.com").expect("valid");
        assert_eq!(plain.label, "http://shop.example.com/");
        assert_eq!(
            (plain.port, plain.endpoint.as_str()),
            (80, "shop.example.com:80")
        );
        assert!(
            plain
                .request(&Method::HEAD)
                .headers()
                .get(header::AUTHORIZATION)
                .is_none()
        );
        let v6 = Url::parse("https://[::1]/health").expect("valid");
        assert_eq!(
            (v6.host.as_str(), v6.endpoint.as_str()),
            ("::1", "[::1]:443")
        );
        assert_eq!(v6.label, "https://[::1]/health");
    }

    #[test]
    fn percent_encoded_credentials_are_decoded_for_basic_auth() {
        let url = Url::parse("http://user:p%40ss@h/").expect("valid");
        // base64("user:p@ss")
        assert_eq!(
            url.request(&Method::GET).headers()[header::AUTHORIZATION],
            "Basic dXNlcjpwQHNz"
        );
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        for bad in [
            "ftp://h/x?key=s3cret",
            "/just/a/path?key=s3cret",
            "http://",
            "not a url s3cret",
        ] {
            let error = Url::parse(bad).expect_err(bad);
            assert!(!error.contains("s3cret"), "{bad}: {error}");
        }
    }
}
