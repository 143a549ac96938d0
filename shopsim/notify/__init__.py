"""The notification layer: settings, the policy pipeline, decision traces, templates and inboxes."""
