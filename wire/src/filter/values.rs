//! The values a filter compares with: an address or CIDR network, and a time bound written
//! absolutely or relative to now.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// An address, or a network in CIDR notation (`10.1.0.0/16`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpMatch {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpMatch {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (raw.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| "must be an IP address or a CIDR network".to_owned())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("the prefix length must be 0 to {max}"))?,
        };
        Ok(IpMatch { addr, prefix })
    }

    /// Whether this names one host rather than a network.
    pub fn is_host(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl fmt::Display for IpMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// A time bound: absolute, or relative to now (`15m`, `1h`, `24h`, `7d`), kept as written so a
/// shared link keeps meaning "the last hour".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeBound {
    At(DateTime<Utc>),
    Ago { amount: u32, unit: char },
}

/// The furthest back a relative bound may reach: 100 years, in seconds. Beyond it `now - span`
/// would overflow chrono's range for large enough amounts.
pub const MAX_AGO_SECONDS: u64 = 100 * 366 * 86_400;

impl TimeBound {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if let Some(unit) = raw
            .chars()
            .last()
            .filter(|c| matches!(c, 's' | 'm' | 'h' | 'd' | 'w'))
        {
            if let Ok(amount) = raw[..raw.len() - 1].parse::<u32>() {
                let unit_seconds: u64 = match unit {
                    's' => 1,
                    'm' => 60,
                    'h' => 3_600,
                    'd' => 86_400,
                    _ => 7 * 86_400,
                };
                if u64::from(amount) * unit_seconds > MAX_AGO_SECONDS {
                    return Err("must reach back at most 100 years".to_owned());
                }
                return Ok(TimeBound::Ago { amount, unit });
            }
        }
        DateTime::parse_from_rfc3339(raw)
            .map(|t| TimeBound::At(t.with_timezone(&Utc)))
            .map_err(|_| {
                "must be an RFC 3339 time or a duration such as 15m, 1h, 24h, 7d".to_owned()
            })
    }

    /// The instant this bound names, given the current time.
    pub fn resolve(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            TimeBound::At(t) => t,
            TimeBound::Ago { amount, unit } => {
                let unit_seconds: i64 = match unit {
                    's' => 1,
                    'm' => 60,
                    'h' => 3_600,
                    'd' => 86_400,
                    _ => 7 * 86_400,
                };
                // Checked: a bound that did not come through `parse` (deserialised) cannot panic.
                (i64::from(amount).checked_mul(unit_seconds))
                    .and_then(Duration::try_seconds)
                    .and_then(|span| now.checked_sub_signed(span))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC)
            }
        }
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::At(t) => write!(
                f,
                "{}",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
            TimeBound::Ago { amount, unit } => write!(f, "{amount}{unit}"),
        }
    }
}

/// Whether `ip` lies in the network (an address of the other family never does).
pub(super) fn in_network(ip: IpAddr, net: IpMatch) -> bool {
    match (ip, net.addr) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(net.prefix))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(net.prefix))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_bounds_beyond_a_century_are_refused_and_never_overflow() {
        let err = TimeBound::parse("4294967295h").unwrap_err();
        assert!(err.contains("100 years"), "{err}");
        assert!(TimeBound::parse("36500d").is_ok());
        let now = Utc::now();
        let hostile = TimeBound::Ago {
            amount: u32::MAX,
            unit: 'w',
        };
        assert_eq!(hostile.resolve(now), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn relative_times_resolve_against_now() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            TimeBound::parse("15m").unwrap().resolve(now),
            now - Duration::minutes(15)
        );
        assert_eq!(
            TimeBound::parse("7d").unwrap().resolve(now),
            now - Duration::days(7)
        );
    }

    #[test]
    fn cidr_matching_covers_v4_and_v6() {
        let v4 = IpMatch::parse("10.1.0.0/16").unwrap();
        assert!(in_network("10.1.200.3".parse().unwrap(), v4));
        assert!(!in_network("10.2.0.1".parse().unwrap(), v4));
        let v6 = IpMatch::parse("2001:db8::/32").unwrap();
        assert!(in_network("2001:db8:1::5".parse().unwrap(), v6));
        assert!(!in_network("2001:db9::1".parse().unwrap(), v6));
        assert!(!in_network("10.1.0.1".parse().unwrap(), v6));
        assert!(in_network(
            "192.0.2.1".parse().unwrap(),
            IpMatch::parse("0.0.0.0/0").unwrap()
        ));
        assert_eq!(
            IpMatch::parse("192.0.2.7").unwrap().to_string(),
            "192.0.2.7"
        );
    }
}
