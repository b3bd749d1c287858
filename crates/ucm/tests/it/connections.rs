use testkit::simulators::{ATLASSIAN_EMAIL, ATLASSIAN_TOKEN, Simulator};
use testkit::{TestDb, backend_tests};

use crate::{run, run_with_input, ucm};

backend_tests!(connections_from_the_cli_are_sealed_and_tested);

async fn connections_from_the_cli_are_sealed_and_tested(db: TestDb) {
    let dir = db.dir().to_owned();
    let jira = Simulator::jira().await;
    let cli = || {
        let mut command = ucm(&dir, Some(&db));
        command.env("UCM_NETWORK__ALLOWED_NETWORKS", "127.0.0.0/8");
        command
    };
    let (ok, out, err) = run_with_input(
        cli().args(["connections", "create", "--name", "Jira", "--kind", "jira", "--site", &jira.base]).args([
            "--email",
            ATLASSIAN_EMAIL,
            "--secret-stdin",
        ]),
        format!("{ATLASSIAN_TOKEN}\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("its secret is sealed"), "{out}");

    let (ok, out, err) = run(cli().args(["connections", "test", "Jira"]));
    assert!(ok && out.contains("OK: signed in to Jira") && out.contains("Ada Lovelace"), "{out}{err}");
    let (ok, out, _) = run(cli().args(["connections", "list", "--json"]));
    assert!(ok && out.contains("\"hasSecret\": true") && !out.contains(ATLASSIAN_TOKEN), "{out}");

    // The simulator refuses the site's address unless the network is allowed.
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["connections", "test", "Jira"]));
    assert!(!ok && err.contains("the test failed: refused"), "{err}");

    let (ok, _, err) =
        run(cli().args(["connections", "create", "--name", "Wiki", "--kind", "confluence", "--site", "wiki"]));
    assert!(!ok, "{err}");
    for flag in ["--site (site)", "--email (email)", "--secret-stdin (secret)"] {
        assert!(err.contains(flag), "{flag} in {err}");
    }

    let (ok, out, _) = run(cli().args(["outputs", "list"]));
    assert!(ok && out.contains("Nothing stored yet"), "{out}");
    let (ok, _, err) = run(cli().args(["outputs", "list", "--kind", "fax"]));
    assert!(!ok && err.contains("page, message, workItem, email"), "{err}");
    let (ok, out, _) = run(cli().args(["connections", "delete", "Jira"]));
    assert!(ok && out.contains("Deleted"), "{out}");
}
