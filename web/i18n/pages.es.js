// The pages catalog (es).
export default {
};
