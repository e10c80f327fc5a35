//! The persisted member list (`<data dir>/cluster_members.json`): a restarted node rejoins from it.

use std::path::Path;

use super::wire::MemberList;

/// The stored list; empty if the file does not exist yet.
pub(crate) fn load(file: &Path) -> Result<MemberList, String> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(MemberList::default()),
        Err(e) => {
            return Err(format!(
                "cannot read cluster member file {}: {e}",
                file.display()
            ))
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "cluster member file {} is corrupt ({e}): fix it, or delete it and join the cluster again",
            file.display()
        )
    })
}

/// Replaces the file atomically (temp file, fsync, rename).
pub(crate) fn save(file: &Path, list: &MemberList) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(list).map_err(|e| e.to_string())?;
    crate::data_file::write_atomic(file, &bytes)
        .map_err(|e| format!("cannot write cluster member file {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::wire::StoredMember;

    fn member(node: &str, address: &str) -> StoredMember {
        StoredMember {
            node: node.into(),
            address: address.into(),
        }
    }

    #[test]
    fn a_missing_file_is_an_empty_list_and_a_saved_list_loads_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("cluster_members.json");
        assert_eq!(load(&file), Ok(MemberList::default()));
        let list = MemberList {
            members: vec![member("A@h", "h:1"), member("B@h", "h:2")],
            removed: vec!["C@h".into()],
        };
        save(&file, &list).expect("saved");
        assert_eq!(load(&file), Ok(list));
        assert!(!dir.path().join("cluster_members.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("cluster_members.json");
        std::fs::write(&file, b"{\"members\": [").expect("write");
        let error = load(&file).expect_err("corrupt");
        assert!(error.contains("is corrupt"), "{error}");
        assert!(error.contains("cluster_members.json"), "{error}");
    }
}
