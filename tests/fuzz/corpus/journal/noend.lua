-- MPCL Lab session journal, format 1

-- [chunk 1] t
do
x = 1
-- [chunk 2] t
do
end
