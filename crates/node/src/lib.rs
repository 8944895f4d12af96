//! The Node-API boundary (to come).
