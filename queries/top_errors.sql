-- Which errors, permanent or not, and how often: each message once, newest report.
WITH latest AS (
    SELECT *, row_number() OVER (PARTITION BY messageId ORDER BY parse_datetime(doneAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') DESC) AS rn
    FROM reports
)
SELECT
    error.name AS error_name,
    error.permanent AS permanent,
    count(*) AS messages
FROM latest
WHERE rn = 1 AND error.name IS NOT NULL AND error.name <> 'NO_ERROR'
GROUP BY 1, 2
ORDER BY messages DESC, error_name, permanent
LIMIT 20
