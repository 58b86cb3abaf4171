// onnxruntime's telemetry off, as in the Python package (README, "Privacy"): onnxruntime-node 1.30 on
// Linux writes a persistent device id and events for upload under
// ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ unless ORT_DISABLE_TELEMETRY is set when it loads.
// Import this module before onnxruntime-node: an ES module's imports are evaluated in order. A user's
// own setting stands (ORT_DISABLE_TELEMETRY=0 turns it on).
process.env.ORT_DISABLE_TELEMETRY ??= '1';
