-- MPCL Lab session journal, format 2

-- [chunk 1] t code=4 results=0
do
x = 12
end
