-- MPCL Lab session journal, format 1

-- [chunk one] t
x = 1
