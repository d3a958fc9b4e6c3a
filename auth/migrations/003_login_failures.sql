-- eirc-auth schema, version 3: the per-account login limit, kept in the
-- database so that every eirc-auth process on it enforces one limit.

-- The recent failed logins of each account name as submitted (case-folded),
-- whether or not a user has that name, so the limit tells nobody which
-- accounts exist: at most auth.login_attempts_per_account times, oldest
-- first. A successful login deletes the row; the purge deletes rows whose
-- newest time has left the window.
CREATE TABLE login_failures (
    account text PRIMARY KEY,
    times   timestamptz[] NOT NULL
);

-- One login attempt for p_account, decided before its password is checked:
-- when fewer than p_limit failures lie within the last p_window_ms, the
-- attempt is recorded as a failure at once (a success deletes it again), so
-- attempts running at the same time in any process cannot pass the limit
-- together; the row lock orders them. Returns retry_after_ms 0,
-- recorded_at (to take the attempt back when its password could not be
-- checked) and fills, true when this attempt reaches the limit; or, with
-- the limit reached, retry_after_ms > 0: how long until the oldest counted
-- failure leaves the window, and nothing recorded.
CREATE FUNCTION eirc_login_attempt(p_account text, p_limit integer, p_window_ms bigint,
                                   OUT retry_after_ms bigint, OUT recorded_at timestamptz,
                                   OUT fills boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_window interval := p_window_ms * interval '1 millisecond';
    v_times timestamptz[];
    v_now timestamptz;
BEGIN
    INSERT INTO login_failures (account, times) VALUES (p_account, '{}')
    ON CONFLICT (account) DO NOTHING;
    SELECT f.times INTO v_times FROM login_failures f
     WHERE f.account = p_account FOR UPDATE;
    v_now := clock_timestamp();
    v_times := ARRAY(SELECT t FROM unnest(v_times) AS t
                      WHERE t > v_now - v_window ORDER BY t);
    IF cardinality(v_times) >= p_limit THEN
        retry_after_ms := greatest(1, ceil(extract(epoch FROM
            v_times[cardinality(v_times) - p_limit + 1] + v_window - v_now) * 1000));
        fills := false;
        RETURN;
    END IF;
    UPDATE login_failures SET times = v_times || v_now WHERE account = p_account;
    retry_after_ms := 0;
    recorded_at := v_now;
    fills := cardinality(v_times) + 1 >= p_limit;
END
$$;
