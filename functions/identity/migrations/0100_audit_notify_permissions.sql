-- The login and operation logs moved to the audit function and the
-- message centre to notify (issue 23), and their permissions with them:
--   identity.log:view/export → audit.log:view/export
--   identity.alert:view      → audit.alert:view
--   identity.notice:view/create → notify.notice:view/create
-- Bootstrap resets the 三员 roles to their definition at every start, but
-- leaves other built-in roles and administrators' own roles as edited, so
-- the keys are renamed in every role here, once. (Numbered 0100 so that it
-- stays clear of the renumbering of identity's stream.)
UPDATE identity.roles SET perms = (
    SELECT COALESCE(array_agg(CASE p
        WHEN 'identity.log:view' THEN 'audit.log:view'
        WHEN 'identity.log:export' THEN 'audit.log:export'
        WHEN 'identity.log:*' THEN 'audit.log:*'
        WHEN 'identity.alert:view' THEN 'audit.alert:view'
        WHEN 'identity.alert:*' THEN 'audit.alert:*'
        WHEN 'identity.notice:view' THEN 'notify.notice:view'
        WHEN 'identity.notice:create' THEN 'notify.notice:create'
        WHEN 'identity.notice:*' THEN 'notify.notice:*'
        ELSE p END ORDER BY o), '{}')
    FROM unnest(perms) WITH ORDINALITY AS u(p, o))
WHERE perms && ARRAY['identity.log:view', 'identity.log:export', 'identity.log:*', 'identity.alert:view', 'identity.alert:*',
    'identity.notice:view', 'identity.notice:create', 'identity.notice:*'];
