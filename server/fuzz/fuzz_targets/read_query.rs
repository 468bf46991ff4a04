//! The read API's, the export's and the stream's query parser: any query string must parse or
//! be a client error naming the parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(err) = vigil_server::http::parse_queries(query) {
        assert!(err.status().is_client_error(), "{err}");
    }
});
