-- DESIGN §4 Lines outside every cluster: the lines written whole, as they came (the writer takes their one row
-- from the line alone): those passed through before the split, and those still `not_kubernetes` once the
-- policies ran.
SELECT lid FROM passed_lines
UNION ALL
SELECT lid FROM allocated_rows WHERE kind = 'not_kubernetes'
