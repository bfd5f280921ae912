-- What the traffic cost per day and currency: pricePerMessage is per SMS part, so times the part count.
WITH latest AS (
    SELECT *, row_number() OVER (PARTITION BY messageId ORDER BY parse_datetime(doneAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') DESC) AS rn
    FROM reports
)
SELECT
    date(parse_datetime(sentAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') AT TIME ZONE 'UTC') AS day,
    price.currency AS currency,
    count(*) AS messages,
    sum(coalesce(smsCount, messageCount, 1)) AS parts,
    round(sum(price.pricePerMessage * coalesce(smsCount, messageCount, 1)), 4) AS total_price
FROM latest
WHERE rn = 1 AND price.currency IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
