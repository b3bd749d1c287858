//! Example tasks for the demo organization (`ucm serve --demo`). Every one is manual: nothing
//! changes until someone runs it.

use model::filter::UserFilter;
use model::task::{Action, AppTarget, Schedule};

use crate::{TaskError, TaskInput, TaskService};

/// Saved filters and tasks to create: (filter name, criteria, task name, actions).
fn examples() -> Vec<(&'static str, UserFilter, &'static str, Vec<Action>)> {
    vec![
        (
            "Inactive for 90 days",
            UserFilter { inactive_days: Some(90), statuses: vec!["active".into()], ..UserFilter::default() },
            "Deactivate inactive users",
            vec![Action::RemoveAppAccess { apps: vec![], all: true }, Action::SuspendUsers],
        ),
        (
            "Contractors without Jira",
            UserFilter {
                email_domains: vec!["partners.example.com".into()],
                exclude_groups: vec!["jira-users-acme".into()],
                ..UserFilter::default()
            },
            "Onboard contractors",
            vec![Action::AddToGroups { group_ids: vec!["contractors".into(), "jira-users-acme".into()] }],
        ),
        (
            "Idle Service Management agents",
            UserFilter { apps: vec!["JSM".into()], inactive_days: Some(30), ..UserFilter::default() },
            "Reclaim idle JSM seats",
            vec![Action::RemoveAppAccess {
                apps: vec![AppTarget { app_type: "JSM".into(), site_id: None }],
                all: false,
            }],
        ),
    ]
}

/// Creates the example saved filters and tasks; returns the tasks' names.
pub async fn create_demo_tasks(service: &TaskService) -> Result<Vec<String>, TaskError> {
    let store = service.store();
    let now = service.now();
    let mut names = Vec::new();
    for (filter_name, criteria, task_name, actions) in examples() {
        let canonical = service.inner.directory.canonical_filter(&criteria).await?;
        let filter = store.create_saved_filter(filter_name, &canonical, now).await?;
        let input = TaskInput {
            name: task_name.to_owned(),
            filter_id: filter.filter_id,
            actions,
            schedule: Schedule::default(),
            active: true,
            execution_limit: None,
        };
        names.push(service.create_task(&input, "demo").await?.name);
    }
    Ok(names)
}
