-- MPCL Lab session journal, format 1

-- [chunk 1] t
-- [chunk 2] t
