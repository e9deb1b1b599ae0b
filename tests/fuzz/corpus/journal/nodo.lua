-- MPCL Lab session journal, format 1

-- [chunk 1] t
x = 1
end
