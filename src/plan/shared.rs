//! Plans read from the store, shared: interviews whose stored plans are identical (the same
//! job, bank and résumé — and every interview a load test makes) hold one copy in memory, not
//! one each. A plan is immutable once made, so sharing is safe; an entry lives as long as an
//! interview holds it.

use std::sync::{Arc, OnceLock, Weak};

use dashmap::DashMap;
use sha2::{Digest, Sha256};

use super::Plan;

/// Entries kept before dead ones are swept.
const SWEEP_AT: usize = 1024;

fn plans() -> &'static DashMap<[u8; 32], Weak<Plan>> {
    static PLANS: OnceLock<DashMap<[u8; 32], Weak<Plan>>> = OnceLock::new();
    PLANS.get_or_init(DashMap::new)
}

/// The plan stored as `json`: the copy already in memory, if an interview holds one.
pub fn parse(json: &str) -> Result<Arc<Plan>, serde_json::Error> {
    let key: [u8; 32] = Sha256::digest(json.as_bytes()).into();
    let map = plans();
    if let Some(p) = map.get(&key).and_then(|w| w.upgrade()) {
        return Ok(p);
    }
    let plan = Arc::new(serde_json::from_str::<Plan>(json)?);
    if map.len() >= SWEEP_AT {
        map.retain(|_, w| w.strong_count() > 0);
    }
    map.insert(key, Arc::downgrade(&plan));
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_plans_share_one_copy_while_held() {
        let plan = crate::plan::build::from_text("React Developer", "", "", None, 4);
        let json = serde_json::to_string(&plan).unwrap();
        let a = parse(&json).unwrap();
        let b = parse(&json).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, plan);
        let other = crate::plan::build::from_text("Data Engineer", "", "", None, 4);
        let c = parse(&serde_json::to_string(&other).unwrap()).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(parse("{").is_err());
    }
}
