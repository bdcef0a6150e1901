// The pages catalog (de).
export default {
};
