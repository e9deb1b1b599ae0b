-- MPCL Lab session journal, format 1

-- [chunk 1] t
do
x = 1
end
--| r a=1
y = 2
