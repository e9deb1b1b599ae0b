-- MPCL Lab session journal, format 2

-- [chunk 1] t code=1 results=1
do
x
end
--| a\q
