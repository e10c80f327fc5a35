//! The subscription trie: topic filter validation and matching of topics against `+`/`#` filters;
//! `remote.rs`: the subscriptions of the cluster's other nodes; `sync.rs`: whether what this node
//! holds of them is current; `outbox.rs` and `stream.rs`: publishes forwarded on an acknowledged
//! stream per peer; `wire.rs`: the frames nodes exchange; `link.rs` (and `link_peers.rs`): all of
//! it joined to the peers.

pub(crate) mod link;
pub mod outbox;
pub mod remote;
pub(crate) mod stream;
pub mod sync;
pub mod wire;

use std::collections::HashMap;
use std::hash::Hash;

/// Why a topic filter or topic name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Empty filters and topics are not allowed.
    #[error("empty topic")]
    Empty,
    /// `#` somewhere other than the last level, or `+`/`#` sharing a level with other characters.
    #[error("misplaced wildcard")]
    Wildcard,
    /// A topic name (PUBLISH) may not contain wildcards.
    #[error("wildcard in a topic name")]
    WildcardInName,
    /// NUL characters are forbidden by the spec.
    #[error("NUL character in topic")]
    Nul,
    /// `$share/` without a valid group name and filter.
    #[error("malformed shared subscription")]
    Shared,
}

/// Splits a shared subscription `$share/<group>/<filter>` into its group and filter; `None` for
/// an ordinary filter.
pub fn shared_filter(filter: &str) -> Option<(&str, &str)> {
    filter.strip_prefix("$share/")?.split_once('/')
}

/// Checks a SUBSCRIBE/UNSUBSCRIBE topic filter, shared (`$share/<group>/<filter>`) or not.
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    if filter.starts_with("$share/") || filter == "$share" {
        let (group, inner) = shared_filter(filter).ok_or(TopicError::Shared)?;
        if group.is_empty() || group.contains(['+', '#']) {
            return Err(TopicError::Shared);
        }
        return validate_plain_filter(inner);
    }
    validate_plain_filter(filter)
}

fn validate_plain_filter(filter: &str) -> Result<(), TopicError> {
    if filter.is_empty() {
        return Err(TopicError::Empty);
    }
    if filter.contains('\0') {
        return Err(TopicError::Nul);
    }
    let levels: Vec<&str> = filter.split('/').collect();
    let last = levels.len() - 1;
    for (i, level) in levels.iter().enumerate() {
        let wild = level.contains('+') || level.contains('#');
        if wild && level.len() != 1 {
            return Err(TopicError::Wildcard);
        }
        if *level == "#" && i != last {
            return Err(TopicError::Wildcard);
        }
    }
    Ok(())
}

/// Checks a PUBLISH topic name.
pub fn validate_topic(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.contains('\0') {
        return Err(TopicError::Nul);
    }
    if topic.contains('+') || topic.contains('#') {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// Whether a valid plain `filter` matches the topic name `topic` (`$` topics are not matched by
/// a leading wildcard, MQTT 4.7.2).
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for level in filter.split('/') {
        match (level, topic_levels.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (want, Some(got)) if want == got => {}
            _ => return false,
        }
    }
    topic_levels.next().is_none()
}

/// One level of the trie: subscribers whose filter ends here, and the next levels.
#[derive(Debug)]
struct TrieNode<K, V> {
    subscribers: HashMap<K, V>,
    children: HashMap<String, TrieNode<K, V>>,
}

impl<K, V> Default for TrieNode<K, V> {
    fn default() -> Self {
        Self {
            subscribers: HashMap::new(),
            children: HashMap::new(),
        }
    }
}

impl<K, V> TrieNode<K, V> {
    fn is_empty(&self) -> bool {
        self.subscribers.is_empty() && self.children.is_empty()
    }
}

/// Subscriptions by filter level; `K` identifies a subscriber, `V` is what its subscription holds.
#[derive(Debug)]
pub struct SubscriptionTrie<K, V> {
    root: TrieNode<K, V>,
    count: usize,
}

impl<K, V> Default for SubscriptionTrie<K, V> {
    fn default() -> Self {
        Self {
            root: TrieNode::default(),
            count: 0,
        }
    }
}

impl<K: Eq + Hash, V> SubscriptionTrie<K, V> {
    /// Adds or replaces `key`'s subscription to a valid `filter`; answers the one it replaced.
    pub fn subscribe(&mut self, filter: &str, key: K, value: V) -> Option<V> {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.children.entry(level.to_owned()).or_default();
        }
        let replaced = node.subscribers.insert(key, value);
        if replaced.is_none() {
            self.count += 1;
        }
        replaced
    }

    /// Removes `key`'s subscription to `filter`; answers whether there was one.
    pub fn unsubscribe(&mut self, filter: &str, key: &K) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        let removed = remove(&mut self.root, &levels, key);
        if removed {
            self.count -= 1;
        }
        removed
    }

    /// The subscriptions in the trie.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no subscriptions.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Calls `found` for every subscription whose filter matches `topic` (a subscriber with
    /// several matching filters is visited once per filter).
    pub fn for_each_match<'a>(&'a self, topic: &str, mut found: impl FnMut(&'a K, &'a V)) {
        // Topics starting with `$` are not matched by a leading wildcard (MQTT 4.7.2).
        let system = topic.starts_with('$');
        let levels: Vec<&str> = topic.split('/').collect();
        collect(&self.root, &levels, system, &mut found);
    }
}

fn remove<K: Eq + Hash, V>(node: &mut TrieNode<K, V>, levels: &[&str], key: &K) -> bool {
    let Some((first, rest)) = levels.split_first() else {
        return node.subscribers.remove(key).is_some();
    };
    let Some(child) = node.children.get_mut(*first) else {
        return false;
    };
    let removed = remove(child, rest, key);
    if child.is_empty() {
        node.children.remove(*first);
    }
    removed
}

fn collect<'a, K, V>(
    node: &'a TrieNode<K, V>,
    levels: &[&str],
    at_system_root: bool,
    found: &mut impl FnMut(&'a K, &'a V),
) {
    if !at_system_root {
        if let Some(hash) = node.children.get("#") {
            hash.subscribers.iter().for_each(|(k, v)| found(k, v));
        }
    }
    let Some((first, rest)) = levels.split_first() else {
        node.subscribers.iter().for_each(|(k, v)| found(k, v));
        return;
    };
    if let Some(child) = node.children.get(*first) {
        collect(child, rest, false, found);
    }
    if !at_system_root {
        if let Some(plus) = node.children.get("+") {
            collect(plus, rest, false, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(trie: &SubscriptionTrie<u32, u8>, topic: &str) -> Vec<u32> {
        let mut keys = Vec::new();
        trie.for_each_match(topic, |key, _| keys.push(*key));
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    #[test]
    fn filters_are_validated_by_level() {
        for good in [
            "a", "a/b", "+", "#", "a/+/c", "a/#", "+/+", "/", "a//b", "$SYS/#",
        ] {
            assert_eq!(validate_filter(good), Ok(()), "{good}");
        }
        assert_eq!(validate_filter(""), Err(TopicError::Empty));
        assert_eq!(validate_filter("a/#/b"), Err(TopicError::Wildcard));
        assert_eq!(validate_filter("a#"), Err(TopicError::Wildcard));
        assert_eq!(validate_filter("a/b+"), Err(TopicError::Wildcard));
        assert_eq!(validate_filter("a\0"), Err(TopicError::Nul));
        assert_eq!(validate_filter("$share/g/a/+"), Ok(()));
        assert_eq!(shared_filter("$share/g/a/+"), Some(("g", "a/+")));
        assert_eq!(shared_filter("a/b"), None);
        for bad in ["$share/g", "$share//a", "$share/+/a", "$share"] {
            assert_eq!(validate_filter(bad), Err(TopicError::Shared), "{bad}");
        }
        assert_eq!(validate_filter("$share/g/a/#/b"), Err(TopicError::Wildcard));
    }

    #[test]
    fn topic_names_have_no_wildcards() {
        assert_eq!(validate_topic("a/b"), Ok(()));
        assert_eq!(validate_topic("a/+"), Err(TopicError::WildcardInName));
        assert_eq!(validate_topic("#"), Err(TopicError::WildcardInName));
        assert_eq!(validate_topic(""), Err(TopicError::Empty));
    }

    #[test]
    fn wildcards_match_whole_levels() {
        let mut trie = SubscriptionTrie::default();
        trie.subscribe("a/b", 1, 0);
        trie.subscribe("a/+", 2, 0);
        trie.subscribe("a/#", 3, 0);
        trie.subscribe("#", 4, 0);
        trie.subscribe("+/+/c", 5, 0);
        assert_eq!(matched(&trie, "a/b"), vec![1, 2, 3, 4]);
        assert_eq!(matched(&trie, "a"), vec![3, 4]);
        assert_eq!(matched(&trie, "a/b/c"), vec![3, 4, 5]);
        assert_eq!(matched(&trie, "b"), vec![4]);
        assert_eq!(trie.len(), 5);
    }

    #[test]
    fn a_single_filter_matches_like_the_trie() {
        for (filter, topic, want) in [
            ("a/b", "a/b", true),
            ("a/+", "a/b", true),
            ("a/+", "a/b/c", false),
            ("a/#", "a", true),
            ("a/#", "a/b/c", true),
            ("#", "$SYS/x", false),
            ("+/x", "$SYS/x", false),
            ("$SYS/#", "$SYS/x", true),
            ("a/b", "a", false),
            ("+", "", true),
        ] {
            assert_eq!(filter_matches(filter, topic), want, "{filter} {topic}");
        }
    }

    #[test]
    fn dollar_topics_skip_leading_wildcards() {
        let mut trie = SubscriptionTrie::default();
        trie.subscribe("#", 1, 0);
        trie.subscribe("+/x", 2, 0);
        trie.subscribe("$SYS/#", 3, 0);
        assert_eq!(matched(&trie, "$SYS/x"), vec![3]);
    }

    #[test]
    fn a_subscriber_is_visited_once_per_matching_filter() {
        let mut trie = SubscriptionTrie::default();
        trie.subscribe("a/+", 1, 0);
        assert_eq!(trie.subscribe("a/b", 1, 1), None);
        assert_eq!(trie.subscribe("a/b", 1, 2), Some(1));
        let mut qos = Vec::new();
        trie.for_each_match("a/b", |_, q| qos.push(*q));
        qos.sort_unstable();
        assert_eq!(qos, vec![0, 2]);
    }

    #[test]
    fn unsubscribe_prunes_and_counts() {
        let mut trie = SubscriptionTrie::default();
        trie.subscribe("a/b/c", 1, 0);
        assert!(trie.unsubscribe("a/b/c", &1));
        assert!(!trie.unsubscribe("a/b/c", &1));
        assert!(!trie.unsubscribe("x", &1));
        assert!(trie.is_empty());
        assert!(trie.root.is_empty());
    }
}
