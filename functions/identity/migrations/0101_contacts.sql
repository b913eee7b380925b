-- The contacts directory (FP-157, 通讯录): everyone in the department tree
-- with their organisation, each person's own favourites, and their
-- favourite groups for one-tap group calls. Favourites and groups belong
-- to their owner and go with them.
CREATE TABLE identity.contact_favourites (
    owner      text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (owner, user_id)
);

CREATE TABLE identity.contact_groups (
    id         text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    owner      text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (owner, name)
);

CREATE TABLE identity.contact_group_members (
    group_id text NOT NULL REFERENCES identity.contact_groups (id) ON DELETE CASCADE,
    user_id  text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

-- The directory goes to whoever works with dispatch (the centre's
-- operators and the inspectors' phones): roles edited by administrators
-- keep their edits, so the permission is added to the existing roles
-- holding any dispatch permission here, once.
UPDATE identity.roles SET perms = array_append(perms, 'identity.contact:view')
WHERE NOT ('identity.contact:view' = ANY (perms))
  AND EXISTS (SELECT 1 FROM unnest(perms) p WHERE p LIKE 'dispatch.%');

-- identity.contact_phones is a published read (a contract, see
-- docs/functions/identity.md): the names and phone numbers of the given
-- active users, for functions that send an event's brief or call its
-- people (dispatch, comms). They must log each use with the purpose.
CREATE FUNCTION identity.contact_phones(user_ids text[])
RETURNS TABLE (user_id text, name text, phone text, dept_name text)
LANGUAGE sql STABLE AS $$
    SELECT u.id, u.name, u.phone, coalesce(d.name, '')
    FROM identity.users u LEFT JOIN identity.departments d ON d.id = u.dept_id
    WHERE u.id = ANY (user_ids) AND u.status = 'active'
$$;

-- The phone's 事件处置 tab (FP-159) lists the events of the inspector's
-- jurisdiction: the roles that may report an event may now also see them.
UPDATE identity.roles SET perms = array_append(perms, 'dispatch.event:view')
WHERE 'dispatch.event:create' = ANY (perms) AND NOT ('dispatch.event:view' = ANY (perms));
