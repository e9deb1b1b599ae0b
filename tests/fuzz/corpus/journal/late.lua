-- MPCL Lab session journal, format 2

-- [chunk 1] t code=1 results=0
do
x
end
-- [after chunk 2] results=1
--| a
