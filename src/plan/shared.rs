//! Plans read from the store, shared: interviews whose stored plans are identical (the same
//! job, bank and résumé — and every interview a load test makes) hold one copy in memory, not
//! one each. A plan is immutable once made, so sharing is safe; an entry lives as long as an
//! interview holds it.

use std::sync::Arc;

use super::Plan;
use crate::interned::Interned;

static PLANS: Interned<Plan> = Interned::new();

/// The plan stored as `json`: the copy already in memory, if an interview holds one.
pub fn parse(json: &str) -> Result<Arc<Plan>, serde_json::Error> {
    PLANS.parse(json)
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
