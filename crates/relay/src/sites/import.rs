//! An import file (`www/sites/*.json`, `relay site import`): a site's rules, and optionally
//! the origins to allow beside them, each checked as an admin's change is. Pure: no store.

use serde::Deserialize;

use super::{origin::checked_origins, rules::RuleError, SiteRules};

/// An import file (`www/sites/*.json`, `relay site import`): the rules, and optionally the
/// origins to allow (`"origins": [...]`), checked.
pub fn from_file(json: &serde_json::Value) -> Result<(SiteRules, Vec<String>), RuleError> {
    let mut json = json.clone();
    let origins = match json.as_object_mut().and_then(|o| o.remove("origins")) {
        None => Vec::new(),
        Some(list) => Vec::<String>::deserialize(&list)
            .map_err(|e| RuleError::Shape(format!("origins: {e}")))?,
    };
    Ok((SiteRules::from_json(&json)?, checked_origins(&origins)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_import_file_may_name_origins_beside_the_rules() {
        let file = json!({"mask": [".a"], "origins": ["https://Shop.example/"]});
        let (rules, origins) = from_file(&file).unwrap();
        assert_eq!(
            (rules.mask, origins),
            (
                vec![".a".to_owned()],
                vec!["https://shop.example".to_owned()]
            )
        );
        assert!(from_file(&json!({"origins": "x"})).is_err());
        assert!(from_file(&json!({"origins": ["x"]})).is_err());
    }
}
