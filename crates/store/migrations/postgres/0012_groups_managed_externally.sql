-- 1 for a group synced from an identity provider (an Atlassian organization's IdP sync): its
-- members are changed there, so tasks plan no change to them.
ALTER TABLE groups ADD COLUMN managed_externally BIGINT NOT NULL DEFAULT 0;
