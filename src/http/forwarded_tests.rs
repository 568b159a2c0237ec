use super::*;

fn fwd(forwarded: &[&str], proto: &[&str], host: &[&str]) -> Forwarded {
    read(
        forwarded.iter().copied(),
        proto.iter().copied(),
        host.iter().copied(),
    )
}

#[test]
fn forwarded_proto_and_host_of_the_last_element() {
    let f = fwd(&["for=192.0.2.60;proto=https;host=chat.example.com"], &[], &[]);
    assert_eq!(f.proto, Some("https"));
    assert_eq!(f.host.as_deref(), Some("chat.example.com"));
    // A client may send its own element first; the proxy's is the last, across header lines too.
    let f = fwd(
        &[
            "host=evil.test;proto=http",
            "for=1.2.3.4;host=\"Chat.Example.com:8443\";proto=HTTPS",
        ],
        &[],
        &[],
    );
    assert_eq!(
        (f.proto, f.host.as_deref()),
        (Some("https"), Some("chat.example.com:8443"))
    );
    let f = fwd(&["host=evil.test, for=10.0.0.1;proto=https"], &[], &[]);
    assert_eq!((f.proto, f.host), (Some("https"), None));
}

#[test]
fn quoted_values_may_hold_separators_and_escapes() {
    let f = fwd(
        &[r#"for="[2001:db8::1]:4711";host="[2001:db8::2]:8080";proto=https"#],
        &[],
        &[],
    );
    assert_eq!(f.host.as_deref(), Some("[2001:db8::2]:8080"));
    assert_eq!(f.proto, Some("https"));
    let f = fwd(&[r#"for="a,b;c\"d";proto=https"#], &[], &[]);
    assert_eq!(f.proto, Some("https"));
}

#[test]
fn malformed_elements_are_dropped_whole() {
    for raw in [
        r#"proto=https;host="unterminated"#,
        r#"proto=https;host="a.test"junk"#,
        "proto=https;host",
    ] {
        assert_eq!(fwd(&[raw], &[], &[]), Forwarded::default(), "{raw}");
    }
    // ... and then the X- headers speak.
    let f = fwd(&["proto=https;host"], &["http"], &["x.test"]);
    assert_eq!((f.proto, f.host.as_deref()), (Some("http"), Some("x.test")));
}

#[test]
fn x_forwarded_headers_fill_what_forwarded_did_not_say() {
    let f = fwd(&[], &["https"], &["chat.example.com"]);
    assert_eq!(
        (f.proto, f.host.as_deref()),
        (Some("https"), Some("chat.example.com"))
    );
    let f = fwd(&["proto=https"], &["http"], &["a.test, b.test"]);
    assert_eq!((f.proto, f.host.as_deref()), (Some("https"), Some("b.test")));
    let f = fwd(&[], &["gopher", "ftp"], &["a b", "x.test/path"]);
    assert_eq!(f, Forwarded::default());
}

#[test]
fn only_plain_hosts_are_valid() {
    for ok in [
        "localhost",
        "localhost:8000",
        "127.0.0.1:1",
        "chat.example.com.",
        "xn--bcher-kva.example",
        "[::1]",
        "[2001:db8::1]:65535",
    ] {
        assert!(valid_host(ok).is_some(), "{ok}");
    }
    assert_eq!(
        valid_host("Chat.Example.COM:80").as_deref(),
        Some("chat.example.com:80")
    );
    for bad in [
        "",
        "evil.test/path",
        "user@evil.test",
        "evil.test:80:80",
        "evil.test:0",
        "evil.test:65536",
        "evil.test:",
        "evil.test:http",
        "a b",
        "evil.test?x",
        "evil.test#x",
        "%65vil.test",
        "-evil.test",
        "evil..test",
        "[::1",
        "[not-ipv6]",
        "[::1]x",
        "::1",
        "bücher.example",
        "evil.test\r\nX-Injected: 1",
        "\"quoted\"",
    ] {
        assert_eq!(valid_host(bad), None, "{bad:?}");
    }
    assert_eq!(valid_host(&"a".repeat(256)), None);
}

#[test]
fn trusted_proxies_are_ips_and_cidrs() {
    let trusted = TrustedProxies::parse(" 10.0.0.0/8, 127.0.0.1 ,::1,,").unwrap();
    for ip in ["10.1.2.3", "127.0.0.1", "::1", "::ffff:10.9.9.9"] {
        assert!(trusted.contains(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["11.0.0.1", "127.0.0.2", "::2"] {
        assert!(!trusted.contains(ip.parse().unwrap()), "{ip}");
    }
    assert!(TrustedProxies::parse("").unwrap().is_empty());
    assert!(TrustedProxies::default().is_empty());
    for bad in ["localhost", "10.0.0.0/33", "1.2.3"] {
        assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
    }
}
