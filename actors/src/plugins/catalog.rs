//! The built-in plugins: their names and the hooks they serve, as `plugin show` lists them
//! (VerneMQ's hook names and `module:function/arity`).

/// A built-in plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plugin {
    /// `vmq_passwd`: user names and passwords from a password file.
    Passwd,
    /// `vmq_acl`: topic access from an ACL file.
    Acl,
}

impl Plugin {
    /// Every built-in plugin, in `plugin show` order.
    pub const ALL: [Plugin; 2] = [Plugin::Passwd, Plugin::Acl];

    /// VerneMQ's name (`vmq_passwd`, `vmq_acl`).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The plugin called `name`, if it is built in.
    pub fn from_name(name: &str) -> Option<Plugin> {
        Plugin::ALL.into_iter().find(|p| p.name() == name)
    }

    /// What `plugin show` says about it.
    pub fn info(self) -> &'static PluginInfo {
        match self {
            Plugin::Passwd => &PASSWD,
            Plugin::Acl => &ACL,
        }
    }
}

/// One hook a plugin serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookInfo {
    /// The hook (`auth_on_register`).
    pub hook: &'static str,
    /// The module implementing it.
    pub module: &'static str,
    /// The function implementing it.
    pub function: &'static str,
    /// The function's arity.
    pub arity: u8,
    /// Hidden by `plugin show` unless `--internal`.
    pub internal: bool,
}

/// A plugin as `plugin show` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginInfo {
    /// `vmq_passwd`.
    pub name: &'static str,
    /// `application` (VerneMQ's type for plugins bundled as OTP applications).
    pub kind: &'static str,
    /// The hooks, in registration order.
    pub hooks: &'static [HookInfo],
}

const fn hook(module: &'static str, name: &'static str, arity: u8) -> HookInfo {
    HookInfo {
        hook: name,
        module,
        function: name,
        arity,
        internal: false,
    }
}

/// Re-reads the file when `set` changes one of the plugin's keys.
const fn change_config(module: &'static str) -> HookInfo {
    HookInfo {
        internal: true,
        ..hook(module, "change_config", 1)
    }
}

static PASSWD: PluginInfo = PluginInfo {
    name: "vmq_passwd",
    kind: "application",
    hooks: &[
        change_config("vmq_passwd"),
        hook("vmq_passwd", "auth_on_register", 6),
        hook("vmq_passwd", "auth_on_register_m5", 6),
    ],
};

static ACL: PluginInfo = PluginInfo {
    name: "vmq_acl",
    kind: "application",
    hooks: &[
        change_config("vmq_acl"),
        hook("vmq_acl", "auth_on_publish", 6),
        hook("vmq_acl", "auth_on_subscribe", 3),
        hook("vmq_acl", "auth_on_publish_m5", 7),
        hook("vmq_acl", "auth_on_subscribe_m5", 4),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for plugin in Plugin::ALL {
            assert_eq!(Plugin::from_name(plugin.name()), Some(plugin));
        }
        assert_eq!(Plugin::from_name("vmq_diversity"), None);
        assert_eq!(Plugin::Acl.info().hooks[1].hook, "auth_on_publish");
    }
}
