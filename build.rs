fn main() {
    // The N-API link setup only matters for the addon (feature "native").
    if std::env::var_os("CARGO_FEATURE_NATIVE").is_some() {
        napi_build::setup();
    }
}
