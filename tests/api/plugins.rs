//! `plugin show|enable|disable` over HTTP and the CLI, and `set` of the plugin files reaching the
//! plugin manager.

use serde_json::json;
use vmq_actors::AuthVerdict;
use vmq_node::admin::plugin;

use crate::process::{admin, assert_failure, assert_success};
use crate::support::{assert_alert, assert_ok, TestNode, DONE};

/// Written by Debian's `mosquitto_passwd` (alice: `alice-secret`, `$7$`).
const PASSWD: &str = include_str!("../../actors/src/plugins/testdata/passwd");

fn passwd_row() -> serde_json::Value {
    json!({
        "Hook(s)": "auth_on_register\nauth_on_register_m5\n",
        "M:F/A": "vmq_passwd:auth_on_register/6\nvmq_passwd:auth_on_register_m5/6\n",
        "Plugin": "vmq_passwd",
        "Type": "application",
    })
}

fn acl_row() -> serde_json::Value {
    json!({
        "Hook(s)": "auth_on_publish\nauth_on_subscribe\nauth_on_publish_m5\nauth_on_subscribe_m5\n",
        "M:F/A": "vmq_acl:auth_on_publish/6\nvmq_acl:auth_on_subscribe/3\nvmq_acl:auth_on_publish_m5/7\nvmq_acl:auth_on_subscribe_m5/4\n",
        "Plugin": "vmq_acl",
        "Type": "application",
    })
}

fn table(rows: &[serde_json::Value]) -> String {
    json!({ "table": rows, "type": "table" }).to_string()
}

#[tokio::test]
async fn show_lists_the_enabled_plugins_and_filters() {
    let node = TestNode::start().await;
    let both = table(&[passwd_row(), acl_row()]);
    assert_ok(&node.get("/api/v1/plugin/show").await, &both);
    assert_ok(&node.get("/api/v1/plugins").await, &both);
    let only_acl = node.get("/api/v1/plugin/show?--plugin=vmq_acl").await;
    assert_ok(&only_acl, &table(&[acl_row()]));
    let subscribe = json!({
        "Hook(s)": "auth_on_subscribe\n",
        "M:F/A": "vmq_acl:auth_on_subscribe/3\n",
        "Plugin": "vmq_acl",
        "Type": "application",
    });
    let by_hook = node
        .get("/api/v1/plugin/show?--hook=auth_on_subscribe")
        .await;
    assert_ok(&by_hook, &table(&[subscribe]));
    let nothing = node.get("/api/v1/plugin/show?--plugin=vmq_bridge").await;
    assert_ok(&nothing, &table(&[]));
    let internal = node
        .get("/api/v1/plugin/show?--plugin=vmq_passwd&--internal")
        .await
        .json();
    assert_eq!(
        internal["table"][0]["Hook(s)"],
        "change_config\nauth_on_register\nauth_on_register_m5\n"
    );
    node.stop().await;
}

#[tokio::test]
async fn enable_and_disable_answer_done_or_say_why_not() {
    let node = TestNode::start().await;
    let disable = "/api/v1/plugin/disable?--name=vmq_acl";
    let enable = "/api/v1/plugin/enable?--name=vmq_acl";
    assert_ok(&node.get(disable).await, DONE);
    assert_ok(
        &node.get("/api/v1/plugin/show").await,
        &table(&[passwd_row()]),
    );
    assert!(!node
        .running()
        .node()
        .plugins
        .rules()
        .may_publish("c", None, "a"));
    let again = node.get(disable).await;
    assert_alert(
        &again,
        409,
        &["Can't disable plugin: vmq_acl due to plugin_not_found"],
    );
    assert_ok(&node.get(enable).await, DONE);
    assert!(node
        .running()
        .node()
        .plugins
        .rules()
        .may_publish("c", None, "a"));
    let twice = node.get(enable).await;
    assert_alert(
        &twice,
        409,
        &["Can't enable plugin: vmq_acl due to already_enabled"],
    );
    let unknown = node.get("/api/v1/plugin/enable?-n=vmq_nope").await;
    assert_alert(
        &unknown,
        404,
        &["Can't enable plugin: vmq_nope due to unknown_plugin (the built-in plugins are vmq_passwd and vmq_acl)"],
    );
    let incomplete = node.get("/api/v1/plugin/enable").await;
    assert_alert(
        &incomplete,
        400,
        &["Incomplete plugin specification", plugin::ENABLE_USAGE],
    );
    let incomplete = node.get("/api/v1/plugin/disable?--module=m").await;
    assert_alert(
        &incomplete,
        400,
        &["Incomplete plugin specification", plugin::DISABLE_USAGE],
    );
    let module = node
        .get("/api/v1/plugin/enable?--module=m&--function=f&--arity=1")
        .await;
    assert_eq!(module.status.as_u16(), 404, "{module:?}");
    assert!(module.body.contains("Can't enable module plugin: {m,f,1}"));
    node.stop().await;
}

#[tokio::test]
async fn set_of_a_plugin_file_reaches_the_plugins_at_once() {
    let node = TestNode::start().await;
    let rules = || node.running().node().plugins.rules();
    let alice = |r: &vmq_actors::AuthRules| {
        r.authenticate(false, "c", Some("alice"), Some(b"alice-secret"))
    };
    assert_eq!(alice(&rules()), AuthVerdict::BadCredentials, "no file yet");
    let passwd = node.dir.path().join("vmq.passwd");
    std::fs::write(&passwd, PASSWD).expect("write");
    let path = passwd.to_str().expect("a UTF-8 temp path");
    let set = node
        .get(&format!("/api/v1/set?vmq_passwd.password_file={path}"))
        .await;
    let text = format!("vmq_passwd.password_file set to \"{path}\"");
    assert_ok(&set, &json!({ "text": text, "type": "text" }).to_string());
    let shown = node.get("/api/v1/show/vmq_passwd.password_file").await;
    let row = json!({"node": "VerneMQ@127.0.0.1", "vmq_passwd.password_file": path});
    assert_ok(&shown, &table(&[row]));
    assert_eq!(alice(&rules()), AuthVerdict::Accepted);

    let acl = node.dir.path().join("vmq.acl");
    std::fs::write(&acl, "user alice\ntopic alice/#\n").expect("write");
    let path = acl.to_str().expect("a UTF-8 temp path");
    assert_eq!(
        node.get(&format!(
            "/api/v1/set?vmq_acl.acl_file={path}&vmq_acl.acl_reload_interval=0"
        ))
        .await
        .status
        .as_u16(),
        200
    );
    assert!(rules().may_publish("c", Some("alice"), "alice/x"));
    assert!(!rules().may_publish("c", Some("bob"), "alice/x"));
    assert!(rules().config().acl_reload_interval.is_zero());
    let refused = node.get("/api/v1/set?plugins.vmq_acl=off").await;
    assert_eq!(refused.status.as_u16(), 400, "{refused:?}");
    node.stop().await;
}

#[tokio::test]
async fn the_cli_shows_enables_and_disables() {
    let node = TestNode::start().await;
    let out = admin(&node, &["plugin", "show"]).await;
    assert_success(&out, "plugin show");
    assert!(
        out.stdout
            .contains("| vmq_passwd | application | auth_on_register "),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("vmq_acl:auth_on_subscribe_m5/4"),
        "{out:?}"
    );
    let out = admin(&node, &["plugin", "disable", "-n", "vmq_passwd"]).await;
    assert_success(&out, "plugin disable");
    assert_eq!(out.stdout, "Done\n");
    let out = admin(&node, &["plugin", "disable", "--name=vmq_passwd"]).await;
    assert_failure(&out, "disable twice");
    assert!(out.stderr.contains("due to plugin_not_found"), "{out:?}");
    let out = admin(&node, &["plugin", "enable"]).await;
    assert_failure(&out, "no name");
    assert!(
        out.stderr.starts_with("Incomplete plugin specification\n"),
        "{out:?}"
    );
    node.stop().await;
}
