//! The Admin API's wire shapes, for the subset ucm uses (NOTES §2): what the client reads and
//! sends, and what the simulator serves. Field names are Atlassian's; every field ucm does not
//! need is left out (unknown fields are ignored when reading).

use serde::{Deserialize, Serialize};

/// `links` of a page: v2 gives bare cursor tokens, v1 full URLs (see [`cursor_of`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub this: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A page of `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub links: Links,
}

/// A count (`GET …/users/count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub count: u64,
}

/// One object under `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct One<T> {
    pub data: T,
}

/// The cursor in a `links.next`: the token itself (v2), or the `cursor` query parameter of a
/// URL (v1). `None` when there is no next page.
pub fn cursor_of(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    if next.is_empty() {
        return None;
    }
    if !next.contains('/') && !next.contains('?') {
        return Some(next.to_owned());
    }
    let query = next.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "cursor" && !value.is_empty()).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An organization (`GET /v1/orgs`, `GET /v1/orgs/{orgId}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    pub attributes: OrgAttributes,
    /// Links to the organization's domains and users (not read; some copies leave out `links`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgAttributes {
    pub name: String,
}

/// A directory of the organization (`GET /v2/orgs/{orgId}/directories`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDirectory {
    pub directory_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
}

/// The body of `POST /v2/orgs/{orgId}/workspaces`: the first page, or the next by cursor alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceSearch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A workspace: one product on one site (`ari:cloud:confluence::site/<cloudId>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub attributes: WorkspaceAttributes,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_key: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
}

/// The body of `POST …/users/search` (the fields ucm sends).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSearch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expand: Vec<String>,
}

/// A user of a directory (`MultiDirectoryUser`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// `active`, `suspended`, `not_invited`, `deactivated`, `for_deletion`.
    pub status: String,
    /// `active`, `inactive`, `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_status: Option<String>,
    /// `active`, `suspended`, `no_membership`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_to_org: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_access: Option<Vec<ProductAccess>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<UserGroup>>,
}

/// A user's last activity in one product on one site (`expand: productAccess`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAccess {
    pub key: String,
    /// The product's site ARI.
    pub id: String,
    /// RFC 3339 with up to nanoseconds; absent when never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_timestamp: Option<String>,
}

/// A group a user belongs to (`expand: groups`); `id` may be an ARI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroup {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The body of `POST …/groups/search` (the fields ucm sends).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSearch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A group of a directory (`MultiDirectoryGroup`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryGroup {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_access: Option<ManagementAccess>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_synced: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}

impl DirectoryGroup {
    /// Whether admins may change its members: not synced from an identity provider.
    pub fn modifiable(&self) -> bool {
        self.management_access.as_ref().is_none_or(|m| m.modifiable)
            && self.external_synced != Some(true)
            && self.managed_by.as_deref() != Some("external")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagementAccess {
    pub deletable: bool,
    pub modifiable: bool,
    pub readable: bool,
}

/// One product a group grants (`GET …/groups/{groupId}/role-assignments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRoleAssignment {
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The body of `POST …/groups/{groupId}/memberships`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipInput {
    pub account_id: String,
}

/// The `Errors` body of the v2 calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The gateway's body for 401 and 429.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProxyError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What an error body says, whichever of Atlassian's shapes it has (or the raw text).
pub fn error_text(body: &[u8]) -> String {
    if let Ok(errors) = serde_json::from_slice::<Errors>(body)
        && let Some(first) = errors.errors.first()
    {
        let parts: Vec<&str> = [first.title.as_deref(), first.detail.as_deref()].into_iter().flatten().collect();
        if !parts.is_empty() {
            return parts.join(": ");
        }
    }
    if let Ok(proxy) = serde_json::from_slice::<ProxyError>(body)
        && let Some(message) = proxy.message
    {
        return message;
    }
    if let Ok(item) = serde_json::from_slice::<ErrorItem>(body)
        && let Some(text) = item.detail.or(item.title)
    {
        return text;
    }
    let text = String::from_utf8_lossy(body);
    text.chars().take(300).collect()
}

/// A resource ARI `ari:cloud:<product>::site/<cloudId>` as (product, cloud id).
pub fn parse_site_ari(ari: &str) -> Option<(&str, &str)> {
    let rest = ari.strip_prefix("ari:cloud:")?;
    let (product, rest) = rest.split_once("::")?;
    let cloud_id = rest.strip_prefix("site/")?;
    (!product.is_empty() && !cloud_id.is_empty() && !cloud_id.contains('/')).then_some((product, cloud_id))
}

/// The id at the end of an ARI (`ari:cloud:identity::group/<uuid>` → `<uuid>`), or the text.
pub fn bare_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_come_bare_or_in_a_url() {
        assert_eq!(cursor_of(Some("kloHX1ZQVasDAkx_P48NYQ")), Some("kloHX1ZQVasDAkx_P48NYQ".to_owned()));
        assert_eq!(
            cursor_of(Some("https://api.atlassian.com/admin/v1/orgs?cursor=a%2Bb%3D&x=1")),
            Some("a+b=".to_owned())
        );
        assert_eq!(cursor_of(Some("")), None);
        assert_eq!(cursor_of(None), None);
        assert_eq!(cursor_of(Some("https://x/y")), None);
    }

    #[test]
    fn aris_and_error_bodies_are_read() {
        assert_eq!(
            parse_site_ari("ari:cloud:jira-software::site/70ef3a32-d0da"),
            Some(("jira-software", "70ef3a32-d0da"))
        );
        assert_eq!(parse_site_ari("ari:cloud:identity::group/1"), None);
        assert_eq!(bare_id("ari:cloud:identity::group/0f0e"), "0f0e");
        assert_eq!(bare_id("0f0e"), "0f0e");
        assert_eq!(
            error_text(br#"{"errors":[{"title":"Conflict","detail":"already in the group"}]}"#),
            "Conflict: already in the group"
        );
        assert_eq!(error_text(br#"{"code":429,"message":"Rate limit exceeded"}"#), "Rate limit exceeded");
        assert_eq!(error_text(b"plain"), "plain");
    }
}
