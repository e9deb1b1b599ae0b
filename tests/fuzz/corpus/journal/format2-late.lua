-- MPCL Lab session journal, format 2
-- seed: 3

-- [chunk 1] t code=14 results=1
do
j = exp:step()
end
--| step task=1 a\\b\r\n\x01
-- [after chunk 1] results=2
--| learn task=2
--| evaluate test
