//! Who may administer (PRODUCT §10): organization admins always; product admins and user
//! access admins only when the access settings allow them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::directory::{Role, User, UserStatus};

/// The installation's access-control settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessSettings {
    /// Product admins may use ucm.
    pub product_admins_allowed: bool,
    /// User access admins may use ucm.
    pub user_access_admins_allowed: bool,
}

/// Why a person may not use ucm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    #[error("the key acts for `{0}`, who is not in the directory")]
    UnknownPrincipal(String),
    #[error("the key acts for `{0}`, whose account is not active")]
    InactivePrincipal(String),
    #[error(
        "the key acts for `{0}`, who is not an organization admin (and the access settings do not admit their other roles)"
    )]
    NotAllowed(String),
}

impl AccessSettings {
    /// Whether `user` may administer ucm under these settings.
    pub fn admit(&self, user: &User) -> Result<(), AccessDenied> {
        if user.status != UserStatus::Active {
            return Err(AccessDenied::InactivePrincipal(user.account_id.0.clone()));
        }
        let admitted = user.has_role(Role::OrgAdmin)
            || (self.product_admins_allowed && user.has_role(Role::ProductAdmin))
            || (self.user_access_admins_allowed && user.has_role(Role::UserAccessAdmin));
        if admitted { Ok(()) } else { Err(AccessDenied::NotAllowed(user.account_id.0.clone())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::RoleAssignment;

    fn user(role: Role, status: UserStatus) -> User {
        User {
            account_id: "u".into(),
            display_name: "U".into(),
            email: "u@example.com".into(),
            status,
            sites: vec![],
            groups: vec![],
            app_access: vec![],
            roles: vec![RoleAssignment::plain(role)],
            last_active: None,
            created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn org_admins_always_others_only_when_allowed() {
        let closed = AccessSettings::default();
        let open = AccessSettings { product_admins_allowed: true, user_access_admins_allowed: true };
        assert!(closed.admit(&user(Role::OrgAdmin, UserStatus::Active)).is_ok());
        assert!(closed.admit(&user(Role::ProductAdmin, UserStatus::Active)).is_err());
        assert!(open.admit(&user(Role::ProductAdmin, UserStatus::Active)).is_ok());
        assert!(open.admit(&user(Role::UserAccessAdmin, UserStatus::Active)).is_ok());
        assert!(open.admit(&user(Role::SiteAdmin, UserStatus::Active)).is_err());
        assert_eq!(
            open.admit(&user(Role::OrgAdmin, UserStatus::Suspended)),
            Err(AccessDenied::InactivePrincipal("u".into()))
        );
    }
}
