use model::directory::UserStatus;
use model::run::{Applied, Change, Op};
use testkit::{TestDb, backend_tests};

use crate::small_org;

backend_tests!(changes_follow_the_rules_against_the_current_state);

fn change(account: &str, op: Op) -> Change {
    Change { account_id: account.into(), op }
}

/// The local directory checks every change against the state at that moment: earlier changes
/// in the same batch count, a group or user that is gone is a failure with a reason, and derived
/// app access follows the groups in the same transaction.
async fn changes_follow_the_rules_against_the_current_state(db: TestDb) {
    db.store.import_directory(&small_org(), &|_| {}).await.unwrap();
    let failed = |a: &Applied, needle: &str| matches!(a, Applied::Failed(reason) if reason.contains(needle));
    let answers = db
        .store
        .apply_changes(&[
            change("u1", Op::AddToGroup("g-conf".into())),
            change("u1", Op::AddToGroup("g-conf".into())),
            change("u1", Op::RemoveFromGroup("g-jsm".into())),
            change("u1", Op::RemoveFromGroup("g-jsm".into())),
            change("u1", Op::AddToGroup("g-gone".into())),
            change("u1", Op::Suspend),
            change("u1", Op::Suspend),
            change("u2", Op::Restore),
            change("u2", Op::Restore),
            change("u4", Op::Suspend),
            change("u4", Op::Restore),
            change("nobody", Op::Suspend),
            change("u3", Op::Suspend),
            change("u1", Op::RemoveFromGroup("g-gone".into())),
        ])
        .await
        .unwrap();
    assert_eq!(answers[0], Applied::Changed);
    assert_eq!(answers[1], Applied::Unchanged, "the first change is seen by the second");
    assert_eq!(answers[2], Applied::Changed);
    assert_eq!(answers[3], Applied::Unchanged);
    assert!(failed(&answers[4], "`g-gone` no longer exists"), "{:?}", answers[4]);
    assert_eq!((answers[5].clone(), answers[6].clone()), (Applied::Changed, Applied::Unchanged));
    assert_eq!((answers[7].clone(), answers[8].clone()), (Applied::Changed, Applied::Unchanged));
    assert!(
        failed(&answers[9], "only an active user can be suspended; the user is invited and has not joined yet"),
        "{:?}",
        answers[9]
    );
    assert!(failed(&answers[10], "only a suspended user can be restored"), "{:?}", answers[10]);
    assert!(failed(&answers[11], "no longer exists in the directory"), "{:?}", answers[11]);
    assert!(
        matches!(&answers[12], Applied::Skipped(reason) if reason.contains("organization admins")),
        "{:?}",
        answers[12]
    );
    assert!(failed(&answers[13], "`g-gone` no longer exists"), "{:?}", answers[13]);

    let users = db.store.users_by_id(&["u1".into(), "u2".into()]).await.unwrap();
    let ada = &users[0];
    assert_eq!(ada.status, UserStatus::Suspended);
    let groups: Vec<&str> = ada.groups.iter().map(|g| g.as_str()).collect();
    assert_eq!(groups, ["g-conf", "g-eng"]);
    let access: Vec<(&str, &str)> = ada.app_access.iter().map(|a| (a.app_type.as_str(), a.site_id.as_str())).collect();
    assert_eq!(access, [("confluence", "s1"), ("confluence", "s2")], "JSM access went with the group");
    assert_eq!(users[1].status, UserStatus::Active);

    // A deactivated user cannot join a group; leaving one is still allowed.
    db.store.apply_changes(&[change("u2", Op::Suspend)]).await.unwrap();
    let mut org = small_org();
    org.users.retain(|u| u.account_id.as_str() == "u2");
    org.users[0].status = UserStatus::Deactivated;
    db.store.import_directory(&org, &|_| {}).await.unwrap();
    let answers = db
        .store
        .apply_changes(&[
            change("u2", Op::AddToGroup("g-eng".into())),
            change("u2", Op::RemoveFromGroup("g-conf".into())),
        ])
        .await
        .unwrap();
    assert!(failed(&answers[0], "a deactivated user cannot be added to a group"), "{:?}", answers[0]);
    assert_eq!(answers[1], Applied::Changed);
    assert!(db.store.apply_changes(&[]).await.unwrap().is_empty());
}
