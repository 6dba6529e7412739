//! Reading worker and connector configuration files given on the command line.

use std::path::Path;

use anyhow::{bail, Context, Result};
use ferry_runtime::properties::{apply_env_overrides, parse_properties};
use ferry_runtime::Props;
use serde_json::Value as Json;

/// Worker properties with `CONNECT_*` environment overrides applied.
pub fn worker_properties(path: &Path) -> Result<Props> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut props = parse_properties(&text);
    apply_env_overrides(&mut props, std::env::vars());
    Ok(props)
}

/// A connector config: `.json` as the REST API takes it (`{"name", "config"}`
/// or a flat map), anything else as `.properties`.
pub fn connector_config(path: &Path) -> Result<Props> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let props = if path.extension().is_some_and(|e| e == "json") {
        json_config(&text)
            .with_context(|| format!("invalid connector config {}", path.display()))?
    } else {
        parse_properties(&text)
    };
    if props.get("name").is_none_or(|n| n.trim().is_empty()) {
        bail!("connector config {} has no `name`", path.display());
    }
    Ok(props)
}

fn json_config(text: &str) -> Result<Props> {
    let v: Json = serde_json::from_str(text)?;
    let Json::Object(mut obj) = v else {
        bail!("expected a JSON object");
    };
    let name = obj.get("name").and_then(Json::as_str).map(str::to_owned);
    let config = match obj.remove("config") {
        Some(Json::Object(c)) => c,
        Some(_) => bail!("`config` must be a JSON object"),
        None => obj,
    };
    let mut props = Props::new();
    for (k, v) in config {
        let s = match v {
            Json::String(s) => s,
            Json::Null => continue,
            other => other.to_string(),
        };
        props.insert(k, s);
    }
    if let Some(n) = name {
        props.entry("name".into()).or_insert(n);
    }
    Ok(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_configs_in_both_shapes() {
        let a = json_config(
            r#"{"name":"c","config":{"connector.class":"FileStreamSource","tasks.max":1}}"#,
        )
        .unwrap();
        assert_eq!(a["name"], "c");
        assert_eq!(a["tasks.max"], "1");
        let b = json_config(r#"{"name":"c","connector.class":"FileStreamSink"}"#).unwrap();
        assert_eq!(b["connector.class"], "FileStreamSink");
    }
}
