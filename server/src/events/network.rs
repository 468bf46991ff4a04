//! The network detection rules group an address by (`network=` in an alert's key), and that the
//! entity pages look alerts up by: one definition, so the two can never drift apart.

use std::net::IpAddr;

/// `203.0.113.0/24`, `2001:db8:bad:1::/64`.
pub fn grouping_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_the_slash_24_and_slash_64() {
        assert_eq!(
            grouping_network("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            grouping_network("2001:db8:bad:1:2:3:4:5".parse().unwrap()),
            "2001:db8:bad:1::/64"
        );
    }
}
