//! Query strings: repeated keys (`apps=JSM&apps=Jira`) and comma lists (`apps=JSM,Jira`), unknown
//! parameters refused by name rather than ignored.

use model::filter::{FieldProblem, FilterError, PageRequest, SortKey, SortOrder, UserFilter};

use crate::error::ApiError;

/// The User Browser's query parameters, in the order the docs list them.
pub(crate) const USER_QUERY_PARAMS: [&str; 14] = [
    "q",
    "inactiveDays",
    "apps",
    "notApps",
    "roles",
    "groups",
    "excludeGroups",
    "site",
    "emailDomains",
    "statuses",
    "page",
    "pageSize",
    "sort",
    "order",
];

/// Parses a User Browser query string into criteria and a page request.
pub(crate) fn user_query(raw: Option<&str>) -> Result<(UserFilter, PageRequest), ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|e| ApiError::field("query", raw.unwrap_or_default(), format!("unreadable query string: {e}")))?;
    let mut filter = UserFilter::default();
    let mut page = PageRequest::default();
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    for (key, value) in &pairs {
        match key.as_str() {
            "q" => filter.q = Some(value.clone()),
            "inactiveDays" => filter.inactive_days = number(key, value, &mut problems),
            "apps" => filter.apps.extend(list(value)),
            "notApps" => filter.not_apps.extend(list(value)),
            "roles" => filter.roles.extend(list(value)),
            "groups" => filter.groups.extend(list(value)),
            "excludeGroups" => filter.exclude_groups.extend(list(value)),
            "site" => filter.site = Some(value.clone()),
            "emailDomains" => filter.email_domains.extend(list(value)),
            "statuses" => filter.statuses.extend(list(value)),
            "page" => page.page = number(key, value, &mut problems).unwrap_or(page.page),
            "pageSize" => page.page_size = number(key, value, &mut problems).unwrap_or(page.page_size),
            "sort" => match model::from_wire::<SortKey>(value) {
                Some(sort) => page.sort = sort,
                None => problems.push(FieldProblem {
                    suggestions: ["displayName", "email", "status", "lastActive", "createdAt"]
                        .map(String::from)
                        .to_vec(),
                    ..FieldProblem::new("sort", value, "unknown sort key")
                }),
            },
            "order" => match value.to_ascii_lowercase().as_str() {
                "asc" => page.order = SortOrder::Asc,
                "desc" => page.order = SortOrder::Desc,
                _ => problems.push(FieldProblem::new("order", value, "must be `asc` or `desc`")),
            },
            _ => unknown.push(key.clone()),
        }
    }
    for key in unknown {
        problems.push(FieldProblem {
            suggestions: model::suggest::closest(&key, USER_QUERY_PARAMS, 3),
            ..FieldProblem::new(&key, "", "unknown query parameter")
        });
    }
    if let Err(e) = page.validate() {
        problems.extend(e.0);
    }
    if problems.is_empty() { Ok((filter, page)) } else { Err(FilterError(problems).into()) }
}

/// Parses a query string of single-valued parameters, refusing unknown and repeated ones.
pub(crate) fn simple_query(
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|e| ApiError::field("query", raw.unwrap_or_default(), format!("unreadable query string: {e}")))?;
    let mut values = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for (key, value) in pairs {
        if value.chars().any(char::is_control) || value.len() > 1024 {
            problems.push(FieldProblem::new(&key, "", "control characters and values over 1024 bytes are refused"));
        } else if !allowed.contains(&key.as_str()) {
            problems.push(FieldProblem {
                suggestions: model::suggest::closest(&key, allowed.iter().copied(), 3),
                ..FieldProblem::new(&key, "", "unknown query parameter")
            });
        } else if values.insert(key.clone(), value.clone()).is_some() {
            problems.push(FieldProblem::new(&key, value, "given more than once"));
        }
    }
    if problems.is_empty() { Ok(values) } else { Err(FilterError(problems).into()) }
}

fn number(field: &str, value: &str, problems: &mut Vec<FieldProblem>) -> Option<u32> {
    match value.trim().parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            problems.push(FieldProblem::new(field, value, "must be a whole number (0 or more)"));
            None
        }
    }
}

fn list(value: &str) -> impl Iterator<Item = String> + '_ {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_come_repeated_or_comma_separated() {
        let (filter, page) =
            user_query(Some("apps=JSM,Jira&apps=Confluence&inactiveDays=30&pageSize=50&sort=lastActive&order=DESC"))
                .unwrap();
        assert_eq!(filter.apps, ["JSM", "Jira", "Confluence"]);
        assert_eq!(filter.inactive_days, Some(30));
        assert_eq!((page.page_size, page.sort, page.order), (50, SortKey::LastActive, SortOrder::Desc));
    }

    #[test]
    fn unknown_parameters_and_bad_numbers_are_named() {
        let Err(ApiError::BadRequest { errors, .. }) = user_query(Some("inactivedays=30&page=-1&pageSize=7")) else {
            panic!("expected a bad request")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["page", "inactivedays", "pageSize"]);
        assert_eq!(errors[1].suggestions, ["inactiveDays"]);
    }

    #[test]
    fn links_round_trip() {
        let filter =
            UserFilter { apps: vec!["Jira Service Management".into()], inactive_days: Some(30), ..Default::default() };
        let (back, _) = user_query(Some(&filter.query_string())).unwrap();
        assert_eq!(back, filter);
    }
}
