//! The filter parser under generated query strings: it never panics, it either accepts a query
//! or names one of the parameters it was given, and whatever it accepts survives a round trip
//! through `to_params` (what links and the live stream carry) unchanged.

use proptest::prelude::*;
use vigil_wire::EventFilter;

const NAMES: [&str; 13] = [
    "user",
    "ip",
    "type",
    "result",
    "severity",
    "source",
    "session",
    "session_fp",
    "q",
    "since",
    "until",
    "limit",
    "unknown",
];

/// Values shaped like real ones (addresses, networks, types, durations, times) mixed with noise.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(/[0-9]{1,2})?",
        "[0-9a-f:]{2,30}(/[0-9]{1,3})?",
        "(auth|mfa|token|api_key|LOGIN_FAILURE|auth\\.login\\.failure|billing\\.x)(,auth\\.mfa\\.enabled)?",
        "(success|failure|partial|info|warning|error|critical|SUCCESS)",
        "[0-9]{1,4}[smhdw]?",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_query_is_accepted_or_names_a_given_parameter(
        pairs in prop::collection::vec((prop::sample::select(NAMES.to_vec()), value()), 0..6)
    ) {
        match EventFilter::from_params(pairs.iter().map(|(k, v)| (*k, v.as_str()))) {
            Ok(filter) => {
                let params = filter.to_params();
                let again = EventFilter::from_params(params.iter().map(|(k, v)| (*k, v.as_str())));
                prop_assert_eq!(again, Ok(filter));
            }
            Err(err) => {
                prop_assert!(pairs.iter().any(|(name, _)| *name == err.param), "{:?}", err);
                prop_assert!(!err.reason.is_empty());
            }
        }
    }
}
