//! The subscription trie: topic filter validation and matching of topics against `+`/`#` filters.

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
    /// Shared subscriptions are not served yet.
    #[error("shared subscriptions are not supported")]
    Shared,
}

/// Checks a SUBSCRIBE/UNSUBSCRIBE topic filter.
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    if filter.is_empty() {
        return Err(TopicError::Empty);
    }
    if filter.contains('\0') {
        return Err(TopicError::Nul);
    }
    if filter.starts_with("$share/") {
        return Err(TopicError::Shared);
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

/// One level of the trie: subscribers whose filter ends here, and the next levels.
#[derive(Debug)]
struct TrieNode<K> {
    subscribers: HashMap<K, u8>,
    children: HashMap<String, TrieNode<K>>,
}

impl<K> Default for TrieNode<K> {
    fn default() -> Self {
        Self {
            subscribers: HashMap::new(),
            children: HashMap::new(),
        }
    }
}

impl<K> TrieNode<K> {
    fn is_empty(&self) -> bool {
        self.subscribers.is_empty() && self.children.is_empty()
    }
}

/// Subscriptions by filter level; `K` identifies a subscriber, the value is its granted QoS.
#[derive(Debug)]
pub struct SubscriptionTrie<K> {
    root: TrieNode<K>,
    count: usize,
}

impl<K> Default for SubscriptionTrie<K> {
    fn default() -> Self {
        Self {
            root: TrieNode::default(),
            count: 0,
        }
    }
}

impl<K: Clone + Eq + Hash> SubscriptionTrie<K> {
    /// Adds or replaces `key`'s subscription to a valid `filter`.
    pub fn subscribe(&mut self, filter: &str, key: K, qos: u8) {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.children.entry(level.to_owned()).or_default();
        }
        if node.subscribers.insert(key, qos).is_none() {
            self.count += 1;
        }
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

    /// Every subscriber whose filter matches `topic`, once each, with its highest granted QoS.
    pub fn matches(&self, topic: &str) -> HashMap<K, u8> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut found = HashMap::new();
        // Topics starting with `$` are not matched by a leading wildcard (MQTT 4.7.2).
        let system = topic.starts_with('$');
        collect(&self.root, &levels, system, &mut found);
        found
    }
}

fn remove<K: Eq + Hash>(node: &mut TrieNode<K>, levels: &[&str], key: &K) -> bool {
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

fn collect<K: Clone + Eq + Hash>(
    node: &TrieNode<K>,
    levels: &[&str],
    at_system_root: bool,
    found: &mut HashMap<K, u8>,
) {
    if !at_system_root {
        if let Some(hash) = node.children.get("#") {
            add(found, hash);
        }
    }
    let Some((first, rest)) = levels.split_first() else {
        add(found, node);
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

fn add<K: Clone + Eq + Hash>(found: &mut HashMap<K, u8>, node: &TrieNode<K>) {
    for (key, qos) in &node.subscribers {
        let best = found.entry(key.clone()).or_insert(*qos);
        *best = (*best).max(*qos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(trie: &SubscriptionTrie<u32>, topic: &str) -> Vec<u32> {
        let mut keys: Vec<u32> = trie.matches(topic).into_keys().collect();
        keys.sort_unstable();
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
        assert_eq!(validate_filter("$share/g/a"), Err(TopicError::Shared));
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
    fn dollar_topics_skip_leading_wildcards() {
        let mut trie = SubscriptionTrie::default();
        trie.subscribe("#", 1, 0);
        trie.subscribe("+/x", 2, 0);
        trie.subscribe("$SYS/#", 3, 0);
        assert_eq!(matched(&trie, "$SYS/x"), vec![3]);
    }

    #[test]
    fn one_subscriber_counts_once_with_its_best_qos() {
        let mut trie = SubscriptionTrie::default();
        trie.subscribe("a/+", 1, 0);
        trie.subscribe("a/b", 1, 1);
        assert_eq!(trie.matches("a/b").get(&1), Some(&1));
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
